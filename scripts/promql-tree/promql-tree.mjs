// Parses PromQL expressions with the Prometheus UI's own grammar (@prometheus-io/lezer-promql) and prints
// their syntax trees as JSON, so that the chart checks (agent/src/test/java/dev/oomwatch/chart) read the
// metric names and labels of an expression from its parse, not from a regular expression.
//
// stdin: a JSON array of expression strings. stdout: a JSON array, one entry per expression, in order:
//   {"errors": [{"from": 3, "to": 4}], "tree": NODE}
// NODE is {"type": "AggregateExpr", "from": 0, "to": 12, "children": [NODE...]}; from/to are UTF-16 offsets
// into the expression (Java's String indices). lezer recovers from syntax errors by inserting error nodes:
// each of them is listed in "errors", and an expression with any error did not parse.
// `promql-tree --version` prints the grammar package's version.
import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';

if (process.argv[2] === '--version') {
  const manifest = new URL('./node_modules/@prometheus-io/lezer-promql/package.json', import.meta.url);
  console.log('@prometheus-io/lezer-promql ' + JSON.parse(readFileSync(manifest, 'utf8')).version);
  process.exit(0);
}

function toJson(cursor, errors) {
  const node = { type: cursor.type.isError ? '⚠' : cursor.name, from: cursor.from, to: cursor.to, children: [] };
  if (cursor.type.isError) {
    errors.push({ from: cursor.from, to: cursor.to });
  }
  if (cursor.firstChild()) {
    do {
      node.children.push(toJson(cursor, errors));
    } while (cursor.nextSibling());
    cursor.parent();
  }
  return node;
}

const expressions = JSON.parse(readFileSync(0, 'utf8'));
if (!Array.isArray(expressions) || !expressions.every((e) => typeof e === 'string')) {
  console.error('promql-tree: stdin must be a JSON array of strings');
  process.exit(2);
}
const results = expressions.map((expression) => {
  const errors = [];
  const tree = toJson(parser.parse(expression).cursor(), errors);
  return { errors, tree };
});
process.stdout.write(JSON.stringify(results) + '\n');
