/** The manual's count_heads, loaded on every process with `-L`. */
export function count_heads(n: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) c += Math.random() < 0.5 ? 1 : 0;
  return c;
}
