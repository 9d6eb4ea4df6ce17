// The generated TypeScript must agree with the schema and with the C# constants it is generated from.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as generated from '../src/protocol/generated';
import { ErrorCodes, Limits, Methods } from '../src/protocol/generated';

const root = path.resolve(__dirname, '..', '..');
const schema = JSON.parse(readFileSync(path.join(root, 'schemas', 'protocol.schema.json'), 'utf8')) as {
  methods: Record<string, { kind: string }>;
  errorCodes: Record<string, number>;
  limits: Record<string, { value: number | string }>;
  definitions: Record<string, { enum?: string[] }>;
};

/** `public const string Name = "value";` and `public const int Name = 1;` from a C# file. */
function csharpConstants(file: string): Map<string, string> {
  const text = readFileSync(file, 'utf8');
  return new Map([...text.matchAll(/public const (?:string|int) (\w+) = ("?)([^";]*)\2;/g)].map((m) => [m[1], m[3]]));
}

test('Methods lists exactly the schema method table', () => {
  assert.deepEqual(Object.values(Methods).sort(), Object.keys(schema.methods).sort());
});

test('ErrorCodes equals the schema table', () => {
  assert.deepEqual({ ...ErrorCodes }, schema.errorCodes);
});

test('Limits equals the schema table', () => {
  assert.deepEqual({ ...Limits }, Object.fromEntries(Object.entries(schema.limits).map(([name, limit]) => [name, limit.value])));
});

test('every enum of the schema has its values, in order', () => {
  const enums = Object.entries(schema.definitions).filter(([, d]) => Array.isArray(d.enum));
  assert.ok(enums.length > 0);
  for (const [name, definition] of enums) {
    assert.deepEqual((generated as Record<string, unknown>)[`${name}Values`], definition.enum, name);
  }
});

const protocolDir = path.join(root, 'server', 'Orchflow.Protocol');

test('Methods names match the C# Methods constants', { skip: !existsSync(protocolDir) }, () => {
  const cs = csharpConstants(path.join(protocolDir, 'Methods.cs'));
  for (const [name, value] of Object.entries(Methods)) {
    assert.equal(cs.get(name), value, `Methods.${name}`);
  }
});

test('ErrorCodes match the C# ErrorCodes constants', { skip: !existsSync(protocolDir) }, () => {
  const cs = csharpConstants(path.join(protocolDir, 'ErrorCodes.cs'));
  for (const [name, value] of Object.entries(ErrorCodes)) {
    assert.equal(cs.get(name), String(value), `ErrorCodes.${name}`);
  }
});
