/**
 * Free identifiers of a shipped function's source, found with a real parser (acorn) and a real scope
 * analyser (eslint-scope) rather than by pattern matching: what the function needs from the scope it
 * was defined in. Run once per source text; callers cache the answer.
 */
import * as acorn from 'acorn';
import { analyze } from 'eslint-scope';

/** What a function's source uses from outside itself. */
export interface SourceAnalysis {
  /** Identifiers read or written but not declared inside the function, in first-use order. */
  readonly free: readonly string[];
  /**
   * For each free identifier used only as the object of `X.name` (never bare, never computed), the
   * property names used: how TypeScript's CommonJS output refers to imports (`(0, distributed_ts_1.myid)()`).
   */
  readonly memberOnly: ReadonlyMap<string, ReadonlySet<string>>;
}

type AstNode = acorn.Node & Record<string, unknown>;

const PARSE: acorn.Options = { ecmaVersion: 'latest', sourceType: 'script', ranges: true };

/**
 * Parses a function's source (`Function.prototype.toString` output) into a program whose only statement
 * evaluates to that function. Method shorthand (`f(x) { … }`, `async *g() {}`, `get v() {}`) is wrapped in
 * an object literal, as it is compiled on the target.
 */
export function parseFunctionSource(source: string): acorn.Program {
  try {
    return acorn.parse(`(${source}\n)`, PARSE);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return acorn.parse(`({${source}\n})`, PARSE);
  }
}

/** Finds the free identifiers of a function from its source text. */
export function analyseFunctionSource(source: string): SourceAnalysis {
  const ast = parseFunctionSource(source);
  const manager = analyze(ast as unknown as Parameters<typeof analyze>[0], { ecmaVersion: 2022, sourceType: 'script', fallback: 'iteration' });
  const members = memberObjects(ast);
  const free: string[] = [];
  const seen = new Set<string>();
  const bare = new Set<string>();
  const props = new Map<string, Set<string>>();
  for (const ref of manager.globalScope!.through) {
    const id = ref.identifier as unknown as AstNode & { name: string };
    const name = id.name;
    if (!seen.has(name)) {
      seen.add(name);
      free.push(name);
    }
    const prop = members.get(id);
    if (prop === undefined) {
      bare.add(name);
    } else {
      let s = props.get(name);
      if (s === undefined) props.set(name, (s = new Set()));
      s.add(prop);
    }
  }
  for (const name of bare) props.delete(name);
  return { free, memberOnly: props };
}

/** Every identifier that is the object of a non-computed member access, with the property's name. */
function memberObjects(root: acorn.Node): Map<acorn.Node, string> {
  const out = new Map<acorn.Node, string>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const n = stack.pop();
    if (n === null || typeof n !== 'object') continue;
    if (Array.isArray(n)) {
      for (const c of n) stack.push(c);
      continue;
    }
    const node = n as AstNode;
    if (typeof node.type !== 'string') continue;
    if (node.type === 'MemberExpression' && !node.computed) {
      const obj = node.object as AstNode;
      const prop = node.property as AstNode;
      if (obj.type === 'Identifier' && prop.type === 'Identifier') out.set(obj, prop.name as string);
    }
    for (const key in node) {
      if (key === 'type' || key === 'start' || key === 'end' || key === 'loc' || key === 'range') continue;
      const c = node[key];
      if (c !== null && typeof c === 'object') stack.push(c);
    }
  }
  return out;
}
