// The session behind each Orchflow Pseudoterminal, against a fake RPC: attach and replay, ordering, flow
// control, input and size, exit, close (detach or kill), removal, and reconnection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseError } from 'vscode-jsonrpc/node';
import { NullLogger } from '../src/client/logger';
import type { CloseAction } from '../src/terminals/model';
import { TerminalSession, type TerminalRpc, type TerminalSessionOptions } from '../src/terminals/session';
import { ErrorCodes, type TerminalAttachResult, type TerminalInfo } from '../src/protocol/generated';
import { terminal } from './fixtures';

interface Call {
  method: string;
  params: unknown;
}

class FakeRpc implements TerminalRpc {
  readonly calls: Call[] = [];
  readonly notifications: Call[] = [];
  attachResult: TerminalAttachResult | Error = { terminal: terminal(), scrollback: '', seq: 0 };
  /** Resolves the pending attach when set; lets a test deliver output while the attach is on its way. */
  private releaseAttach: (() => void) | undefined;
  holdAttach = false;

  request(method: string, params: unknown): Promise<never> {
    this.calls.push({ method, params });
    if (method === 'orchflow/terminal/attach') {
      const answer = (): Promise<never> => {
        const r = this.attachResult;
        return (r instanceof Error ? Promise.reject(r) : Promise.resolve(r)) as Promise<never>;
      };
      if (this.holdAttach) {
        return new Promise<void>((resolve) => {
          this.releaseAttach = resolve;
        }).then(answer);
      }
      return answer();
    }
    return Promise.resolve(null as never);
  }

  notify(method: string, params: unknown): boolean {
    this.notifications.push({ method, params });
    return true;
  }

  release(): void {
    this.releaseAttach?.();
  }

  methods(): string[] {
    return this.calls.map((c) => c.method);
  }
}

class Sink {
  written = '';
  closed = 0;
  names: string[] = [];
  write(data: string): void {
    this.written += data;
  }
  close(): void {
    this.closed++;
  }
  setName(name: string): void {
    this.names.push(name);
  }
}

function setup(
  info: TerminalInfo = terminal(),
  options: Omit<Partial<TerminalSessionOptions>, 'closeAction'> & { closeAction?: CloseAction } = {},
): { rpc: FakeRpc; sink: Sink; session: TerminalSession; closed: () => number } {
  const rpc = new FakeRpc();
  const sink = new Sink();
  let closedCalls = 0;
  const session = new TerminalSession(info, sink, {
    rpc,
    logger: NullLogger,
    title: (t) => `Shop API › ${t.name}`,
    deferNotice: (show) => show(),
    ackThreshold: 10,
    ...options,
    closeAction: () => options.closeAction ?? 'detach',
    onClosed: () => closedCalls++,
  });
  return { rpc, sink, session, closed: () => closedCalls };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('nothing is written before VS Code opens the terminal; then the header and the scrollback, in order', async () => {
  const { rpc, sink, session } = setup(terminal(), { header: 'HEADER\r\n' });
  rpc.attachResult = { terminal: terminal(), scrollback: '$ ls\r\nREADME\r\n$ ', seq: 100 };
  await session.attach();
  assert.equal(sink.written, '');
  session.open({ columns: 120, rows: 30 });
  assert.equal(sink.written, 'HEADER\r\n$ ls\r\nREADME\r\n$ ');
  assert.deepEqual(rpc.calls.at(-1), { method: 'orchflow/terminal/resize', params: { id: 'shop-api-1', columns: 120, rows: 30 } });
});

test('output that arrives while the attach is answered is written after the scrollback, each character once', async () => {
  const { rpc, sink, session } = setup();
  session.open(undefined);
  rpc.holdAttach = true;
  rpc.attachResult = { terminal: terminal(), scrollback: 'abcdef', seq: 6 };
  const attaching = session.attach();
  session.output(5, 'de'); // already in the scrollback
  session.output(8, 'fgh'); // overlaps it by one
  rpc.release();
  await attaching;
  session.output(9, 'i');
  assert.equal(sink.written, 'abcdefghi');
  assert.equal(session.position, 9);
});

test('a terminal created with attach takes its output from the first byte', () => {
  const { sink, session } = setup();
  session.output(2, '$ '); // arrived before the create response
  session.startAttachedFromCreate();
  session.open(undefined);
  session.output(5, 'ls\n');
  assert.equal(sink.written, '$ ls\n');
});

test('output is acknowledged in batches once written, never while it waits for open()', async () => {
  const { rpc, session } = setup(); // threshold 10 for the test
  rpc.attachResult = { terminal: terminal(), scrollback: 'x'.repeat(50), seq: 50 };
  await session.attach();
  session.output(58, '12345678');
  assert.deepEqual(rpc.notifications, [], 'not written yet');
  session.open(undefined);
  assert.deepEqual(rpc.notifications, [], 'the scrollback is not counted, and 8 < 10');
  session.output(61, 'abc');
  assert.deepEqual(rpc.notifications, [{ method: 'orchflow/terminal/ack', params: { id: 'shop-api-1', seq: 61 } }]);
  session.output(65, 'defg');
  assert.equal(rpc.notifications.length, 1);
});

test('input goes to the daemon as typed; sizes are sent once each', async () => {
  const { rpc, session } = setup();
  await session.attach();
  session.open({ columns: 80, rows: 24 });
  session.setDimensions({ columns: 80, rows: 24 });
  session.setDimensions({ columns: 100, rows: 24 });
  session.input('echo hi\r');
  const sent = rpc.calls.filter((c) => c.method !== 'orchflow/terminal/attach');
  assert.deepEqual(sent, [
    { method: 'orchflow/terminal/resize', params: { id: 'shop-api-1', columns: 80, rows: 24 } },
    { method: 'orchflow/terminal/resize', params: { id: 'shop-api-1', columns: 100, rows: 24 } },
    { method: 'orchflow/terminal/input', params: { id: 'shop-api-1', data: 'echo hi\r' } },
  ]);
});

test('an exit writes the notice once, after which input is ignored', async () => {
  const { rpc, sink, session } = setup();
  await session.attach();
  session.open(undefined);
  session.output(4, 'bye\n');
  const exited = terminal({ status: 'exited', exitCode: 3 });
  session.update(exited);
  session.update(exited);
  assert.equal(sink.written, 'bye\n\r\n\x1b[2m[process exited with code 3]\x1b[0m\r\n');
  session.input('x');
  assert.ok(!rpc.methods().includes('orchflow/terminal/input'));
  assert.equal(sink.closed, 0, 'the terminal stays open until the user closes it');
});

test('attaching to a terminal that already exited replays it and then says so', async () => {
  const { rpc, sink, session } = setup();
  rpc.attachResult = { terminal: terminal({ status: 'exited', exitCode: 0 }), scrollback: 'done\r\n', seq: 6 };
  session.open(undefined);
  await session.attach();
  assert.equal(sink.written, 'done\r\n\r\n\x1b[2m[process exited with code 0]\x1b[0m\r\n');
});

test('closing detaches by default; the terminal goes on in the daemon', async () => {
  const { rpc, session, closed } = setup();
  await session.attach();
  await session.close();
  assert.deepEqual(rpc.calls.at(-1), { method: 'orchflow/terminal/detach', params: { id: 'shop-api-1' } });
  assert.equal(closed(), 1);
  session.output(10, 'late');
  await session.close();
  assert.equal(rpc.calls.length, 2, 'a second close does nothing');
});

test('closing kills when the setting says kill, but an ended terminal is only detached', async () => {
  const killed = setup(terminal(), { closeAction: 'kill' });
  await killed.session.attach();
  await killed.session.close();
  assert.equal(killed.rpc.calls.at(-1)?.method, 'orchflow/terminal/kill');

  const ended = setup(terminal(), { closeAction: 'kill' });
  ended.rpc.attachResult = { terminal: terminal({ status: 'exited', exitCode: 0 }), scrollback: '', seq: 0 };
  await ended.session.attach();
  await ended.session.close();
  assert.equal(ended.rpc.calls.at(-1)?.method, 'orchflow/terminal/detach');
});

test('release detaches whatever the setting, so the terminal can be shown elsewhere', async () => {
  const { rpc, session, closed } = setup(terminal(), { closeAction: 'kill' });
  await session.attach();
  await session.release();
  assert.equal(rpc.calls.at(-1)?.method, 'orchflow/terminal/detach');
  assert.equal(closed(), 1);
  await session.close();
  assert.equal(rpc.calls.at(-1)?.method, 'orchflow/terminal/detach', 'the later close() of the VS Code terminal does nothing');
});

test('a removed terminal closes its VS Code terminal and sends nothing', async () => {
  const { rpc, sink, session } = setup(terminal(), { closeAction: 'kill' });
  await session.attach();
  session.removed();
  assert.equal(sink.closed, 1);
  await session.close();
  assert.deepEqual(rpc.methods(), ['orchflow/terminal/attach']);
});

test('closed while the attach is on its way: the attach is undone when it returns', async () => {
  const { rpc, session } = setup();
  rpc.holdAttach = true;
  const attaching = session.attach();
  await session.close();
  rpc.release();
  await attaching;
  assert.deepEqual(rpc.methods(), ['orchflow/terminal/attach', 'orchflow/terminal/detach']);
});

test('after a lost connection, attaching again writes only what was missed', async () => {
  const { rpc, sink, session } = setup();
  rpc.attachResult = { terminal: terminal(), scrollback: 'one\r\n', seq: 5 };
  session.open(undefined);
  await session.attach();
  session.output(10, 'two\r\n');
  session.connectionLost();
  session.connectionLost();
  session.output(20, 'ignored while detached');
  rpc.attachResult = { terminal: terminal(), scrollback: 'one\r\ntwo\r\nthree\r\n', seq: 17 };
  await session.attach();
  assert.equal(sink.written, 'one\r\ntwo\r\n\r\n\x1b[2m[connection to the Orchflow daemon lost; reconnecting...]\x1b[0m\r\nthree\r\n');
});

test('a terminal the daemon no longer has says so and stays open', async () => {
  const { rpc, sink, session } = setup();
  rpc.attachResult = new ResponseError(ErrorCodes.NotFound, 'No terminal "shop-api-1".');
  session.open(undefined);
  await session.attach();
  assert.match(sink.written, /no longer exists/);
  assert.equal(sink.closed, 0);
  session.input('x');
  assert.ok(!rpc.methods().includes('orchflow/terminal/input'));
});

test('renames reach the VS Code terminal\'s name', async () => {
  const { sink, session } = setup();
  await session.attach();
  session.update(terminal({ name: 'API server' }));
  assert.deepEqual(sink.names, ['Shop API › API server']);
  session.update(terminal({ name: 'API server' }));
  assert.equal(sink.names.length, 1);
  await tick();
});
