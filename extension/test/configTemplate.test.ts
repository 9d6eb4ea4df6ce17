import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slugify, workspaceConfigTemplate } from '../src/workspaces/configTemplate';

test('slugify makes ids and prefixes', () => {
  assert.equal(slugify('E-commerce Platform'), 'e-commerce-platform');
  assert.equal(slugify('  Café_API!! '), 'cafe-api');
  assert.equal(slugify('***'), 'workspace');
});

test('the template has the shape the spec shows, with a relative $schema', () => {
  const text = workspaceConfigTemplate({
    root: '/home/u/projects/shop',
    schemaPath: '/home/u/.vscode/extensions/orchflow/schemas/workspace.schema.json',
  });
  assert.ok(text.endsWith('\n'));
  const config = JSON.parse(text) as Record<string, unknown>;
  assert.equal(config.$schema, '../../../.vscode/extensions/orchflow/schemas/workspace.schema.json');
  assert.deepEqual(config.workspace, {
    id: 'shop',
    name: 'shop',
    type: 'unknown',
    namespace: { prefix: 'shop' },
    resources: {},
    security: { tier: 'standard' },
  });
});

test('known values are used as given', () => {
  const config = JSON.parse(
    workspaceConfigTemplate({ root: '/p/cli', id: 'cli-tool', name: 'CLI Tool', type: 'rust', namespacePrefix: 'cli', schemaPath: '/p/cli/schema.json' }),
  ) as { $schema: string; workspace: Record<string, unknown> };
  assert.equal(config.$schema, '../schema.json');
  assert.equal(config.workspace.id, 'cli-tool');
  assert.equal(config.workspace.name, 'CLI Tool');
  assert.equal(config.workspace.type, 'rust');
  assert.deepEqual(config.workspace.namespace, { prefix: 'cli' });
});
