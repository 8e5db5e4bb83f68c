/**
 * The manual's DummyModule: a class and a function. Loaded on every process (`-L` or
 * `everywhere({ import })`), its class travels and its function travels by reference.
 */
export class MyType {
  constructor(public a: number) {}
}

export function f(x: number): number {
  return x ** 2 + 1;
}

console.log('loaded');
