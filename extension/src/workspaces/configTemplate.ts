// The starting `.orchflow/workspace.json` offered when a workspace has none.
// This module must not import 'vscode'.
import * as path from 'node:path';
import type { ProjectType } from '../protocol/generated';

/** Workspace ids and namespace prefixes: lowercase letters, digits and dashes, as the server derives them. */
export function slugify(text: string): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug || 'workspace';
}

export interface TemplateInput {
  /** Absolute root of the workspace. */
  readonly root: string;
  readonly id?: string;
  readonly name?: string;
  readonly type?: ProjectType;
  readonly namespacePrefix?: string;
  /** Absolute path of the extension's schemas/workspace.schema.json. */
  readonly schemaPath: string;
}

/**
 * The template's `$schema` is the schema's path relative to the config file, so editors other than VS Code
 * (which validates through `jsonValidation` anyway) find it too, for as long as the extension stays where it is.
 */
export function workspaceConfigTemplate(input: TemplateInput): string {
  const configDir = path.join(input.root, '.orchflow');
  let schemaRef = path.relative(configDir, input.schemaPath).split(path.sep).join('/');
  if (path.isAbsolute(schemaRef)) {
    schemaRef = input.schemaPath;
  }
  const name = input.name ?? path.basename(input.root);
  const id = input.id ?? slugify(name);
  const config = {
    $schema: schemaRef,
    workspace: {
      id,
      name,
      type: input.type ?? 'unknown',
      namespace: { prefix: input.namespacePrefix ?? id },
      resources: {},
      security: { tier: 'standard' },
    },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
