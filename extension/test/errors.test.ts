import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseError } from 'vscode-jsonrpc/node';
import { NotConnectedError, formatDiagnostic, isErrorCode, userMessage } from '../src/protocol/errors';
import { ErrorCodes, type ErrorData } from '../src/protocol/generated';
import { diagnostic } from './fixtures';

test('shows the server message verbatim, with its hint', () => {
  const error = new ResponseError<ErrorData>(ErrorCodes.Overlap, '/p/a is inside workspace "b" (/p).', {
    kind: 'Overlap',
    hint: 'Register /p instead, or delete "b" first.',
  });
  assert.equal(userMessage(error), '/p/a is inside workspace "b" (/p). Register /p instead, or delete "b" first.');
  assert.ok(isErrorCode(error, ErrorCodes.Overlap));
  assert.ok(!isErrorCode(error, ErrorCodes.NotFound));
});

test('does not repeat a hint the message already contains', () => {
  const error = new ResponseError<ErrorData>(1001, 'No workspace "x". Run orchflow workspace list.', { kind: 'NotFound', hint: 'Run orchflow workspace list.' });
  assert.equal(userMessage(error), 'No workspace "x". Run orchflow workspace list.');
});

test('lists the first diagnostics as file:line:col: message', () => {
  const diagnostics = [1, 2, 3, 4, 5].map((line) => diagnostic({ file: 'w.json', line, column: 2, message: `bad ${line}` }));
  const error = new ResponseError<ErrorData>(ErrorCodes.InvalidConfig, 'The config is invalid.', { kind: 'InvalidConfig', diagnostics });
  assert.equal(userMessage(error), 'The config is invalid. w.json:1:2: bad 1; w.json:2:2: bad 2; w.json:3:2: bad 3 (and 2 more)');
});

test('does not repeat a diagnostic the message already quotes', () => {
  const diagnostics = [
    diagnostic({ file: '/b/w.json', line: 5, column: 13, message: 'workspace.type: "cobol" is not one of: rust, node' }),
    diagnostic({ file: '/b/w.json', line: 6, column: 34, message: 'workspace.resources.max_agents: expected an integer' }),
  ];
  const error = new ResponseError<ErrorData>(ErrorCodes.InvalidConfig, '/b/w.json is invalid: 5:13: workspace.type: "cobol" is not one of: rust, node', {
    kind: 'InvalidConfig',
    hint: 'Fix the file, then create the workspace again.',
    diagnostics,
  });
  assert.equal(
    userMessage(error),
    '/b/w.json is invalid: 5:13: workspace.type: "cobol" is not one of: rust, node Fix the file, then create the workspace again. /b/w.json:6:34: workspace.resources.max_agents: expected an integer',
  );
});

test('plain errors and other values keep their own message', () => {
  assert.equal(userMessage(new Error('socket hang up')), 'socket hang up');
  assert.equal(userMessage('weird'), 'weird');
  assert.match(userMessage(new NotConnectedError()), /not connected/);
});

test('formatDiagnostic', () => {
  assert.equal(formatDiagnostic(diagnostic({ file: '/a/b.json', line: 7, column: 12, message: 'expected a number' })), '/a/b.json:7:12: expected a number');
});
