export async function runOperator(_argv: string[]): Promise<number> {
  throw new Error('operator: not wired yet');
}
