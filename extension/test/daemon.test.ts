import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEnsureFailure, lastLine, parseEnsureOutput } from '../src/client/daemon';

test('parses the one JSON line of daemon ensure', () => {
  assert.deepEqual(parseEnsureOutput('{"socket":"/h/orchflow.sock","pid":123,"started":true}\n'), {
    socket: '/h/orchflow.sock',
    pid: 123,
    started: true,
  });
});

test('parses the object when it is printed indented', () => {
  const out = '{\n  "socket": "/tmp/h/run/orchflow.sock",\n  "pid": 32584,\n  "started": true\n}\n';
  assert.deepEqual(parseEnsureOutput(out), { socket: '/tmp/h/run/orchflow.sock', pid: 32584, started: true });
});

test('skips other lines and takes the last JSON object with a socket', () => {
  const out = 'warning: something\n{"note":1}\n{"socket":"/a.sock","pid":1,"started":false}\r\n';
  assert.deepEqual(parseEnsureOutput(out), { socket: '/a.sock', pid: 1, started: false });
});

test('tolerates missing pid and started', () => {
  assert.deepEqual(parseEnsureOutput('{"socket":"/a.sock"}'), { socket: '/a.sock', pid: 0, started: false });
});

for (const bad of ['', 'not json', '{"socket":""}', '{"pid":3}', '{broken']) {
  test(`rejects ${JSON.stringify(bad)} with a message`, () => {
    assert.throws(() => parseEnsureOutput(bad), /printed no socket path/);
  });
}

test('lastLine finds the reason on stderr', () => {
  assert.equal(lastLine('Unhandled\n  at x\nerror: ORCHFLOW_HOME is not writable\n\n'), 'error: ORCHFLOW_HOME is not writable');
  assert.equal(lastLine(''), '');
});

test('failure messages say what to do', () => {
  const enoent = Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' });
  assert.match(describeEnsureFailure('/x/orchflow', enoent, ''), /not found at \/x\/orchflow.*npm run build:server.*orchflow\.server\.path/);
  const eacces = Object.assign(new Error('EACCES'), { code: 'EACCES' });
  assert.match(describeEnsureFailure('/x/orchflow', eacces, ''), /not executable/);
  const exit = Object.assign(new Error('Command failed'), { code: 3 });
  assert.equal(describeEnsureFailure('/x/orchflow', exit, 'boom\nerror: cannot bind socket\n'), '`/x/orchflow daemon ensure` failed (exit code 3): error: cannot bind socket');
  const killed = Object.assign(new Error('killed'), { killed: true, signal: 'SIGTERM' as const });
  assert.match(describeEnsureFailure('/x/orchflow', killed, ''), /did not finish within 30 s/);
});
