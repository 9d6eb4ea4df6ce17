// What is typed into Browse Memory's search box, read as an orchflow/memory/search query:
//   words        entries whose key or value contains them (as one text, ignoring case; the daemon's `text`)
//   prefix*      keys starting with "prefix" (case-sensitive, as keys are; the daemon's `prefix`)
//   #tag         entries carrying the tag (every one given; the daemon's `tags`)
// For example `decisions/* #db postgres`. A word that only looks like one of these is searched as text when it is
// quoted with a backslash: `\#1` finds "#1", `a\*` finds "a*".
// This module must not import 'vscode'.
import { Limits } from '../protocol/generated';

export interface MemoryQuery {
  readonly text?: string;
  readonly prefix?: string;
  readonly tags: readonly string[];
  /** Why part of the input was not used; empty when all of it was. */
  readonly problems: readonly string[];
}

/** The daemon's limits for tags: 1 to MaxTagChars printable characters, no comma; at most MaxTags. */
const MaxTagChars = Limits.MemoryTagMaxChars;
const MaxTags = Limits.MemoryTagsMax;

/** A word searched as typed, with a trailing `\*` meaning a plain "*". */
function literal(word: string): string {
  return word.endsWith('\\*') ? `${word.slice(0, -2)}*` : word;
}

export function parseMemoryQuery(input: string): MemoryQuery {
  const words: string[] = [];
  const tags: string[] = [];
  const problems: string[] = [];
  let prefix: string | undefined;
  for (const token of input.trim().split(/\s+/).filter((t) => t.length > 0)) {
    if (token === '*') {
      continue; // Every key starts with the empty prefix.
    }
    if (token.startsWith('\\') && token.length > 1) {
      words.push(literal(token.slice(1)));
    } else if (token.startsWith('#') && token.length > 1) {
      const tag = token.slice(1);
      if (tag.length > MaxTagChars || tag.includes(',')) {
        problems.push(`"${token}" is not a tag: tags are 1 to ${MaxTagChars} characters without commas.`);
      } else if (!tags.includes(tag)) {
        if (tags.length < MaxTags) {
          tags.push(tag);
        } else {
          problems.push(`At most ${MaxTags} tags are searched at once; "${token}" is not.`);
        }
      }
    } else if (token.endsWith('*') && !token.endsWith('\\*') && token.length > 1) {
      const p = token.slice(0, -1);
      if (prefix !== undefined && prefix !== p) {
        problems.push(`Only one key prefix is searched at a time: "${prefix}*" is used, "${token}" is not.`);
      } else {
        prefix = p;
      }
    } else {
      words.push(literal(token));
    }
  }
  const text = words.join(' ');
  return { ...(text ? { text } : {}), ...(prefix !== undefined ? { prefix } : {}), tags, problems };
}

/** True when the query selects every entry. */
export function isEmptyQuery(query: MemoryQuery): boolean {
  return query.text === undefined && query.prefix === undefined && query.tags.length === 0;
}

/** The query in words, for the quick pick's messages: `keys starting with "decisions/", tagged #db, containing "postgres"`. */
export function describeQuery(query: MemoryQuery): string {
  const parts = [
    query.prefix !== undefined ? `keys starting with "${query.prefix}"` : undefined,
    query.tags.length > 0 ? `tagged ${query.tags.map((t) => `#${t}`).join(' ')}` : undefined,
    query.text !== undefined ? `containing "${query.text}"` : undefined,
  ].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? parts.join(', ') : 'all entries';
}
