// The Proportional mode: the warm target follows the claimed members, percentOfClaimed of them rounded up (Agones'
// buffer policy as a percent), at least the floor.

/** The API's bound on percentOfClaimed: ten warm members per claimed one is already far past any buffer. */
export const MAX_PERCENT_OF_CLAIMED = 1000;

/** ceil(percent x claimed / 100), in integers (no float rounding at exact multiples), for bounded inputs. */
export function proportionalSize(claimedIn: number, percentIn: number): number {
  const claimed = Number.isFinite(claimedIn) ? Math.max(0, Math.floor(claimedIn)) : 0;
  const percent = Number.isFinite(percentIn) ? Math.min(Math.max(0, Math.floor(percentIn)), MAX_PERCENT_OF_CLAIMED) : 0;
  return Math.ceil((claimed * percent) / 100);
}
