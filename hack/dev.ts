export async function devCommand(_argv: string[]): Promise<number> {
  throw new Error('dev: not wired yet');
}
