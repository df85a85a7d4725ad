/**
 * Drives the debug adapter in tests: an in-process session behind a loopback socket (the
 * `DebugClient` port mode), helpers for the usual sequences, and paths to the fixtures.
 */

import * as net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ScenarioDebugSession } from '../../../language/debug/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A fixture's absolute path. */
export function fixture(name: string): string {
    return join(here, 'fixtures', name);
}

/** An example's absolute path. */
export function example(name: string): string {
    return join(here, '..', '..', '..', 'examples', name);
}

/** A running adapter and a client connected to it. */
export interface Adapter {
    readonly dc: DebugClient;
    close(): Promise<void>;
}

/** Starts a session in this process and connects a `DebugClient` to it over a loopback socket. */
export async function startAdapter(): Promise<Adapter> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
        sockets.add(socket);
        const session = new ScenarioDebugSession();
        session.setRunAsServer(true);
        session.start(socket, socket);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    const dc = new DebugClient('node', 'unused-in-port-mode', 'iommu');
    await dc.start((server.address() as net.AddressInfo).port);
    return {
        dc,
        close: async () => {
            await dc.stop();
            sockets.forEach((s) => s.destroy());
            await new Promise<void>((ok) => server.close(() => ok()));
        },
    };
}

/** Launches and waits for the first stop: `initialize`, `launch`, configuration, `stopped`. */
export async function launchAndStop(dc: DebugClient, args: Record<string, unknown>, configure?: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
    const [, , stopped] = await Promise.all([
        dc.waitForEvent('initialized').then(async () => {
            await configure?.();
            return dc.configurationDoneRequest();
        }),
        dc.launch(args),
        dc.waitForEvent('stopped'),
    ]);
    return stopped as DebugProtocol.StoppedEvent;
}

/** Sends a request that moves the debugger, and waits for where it stops. */
export async function stopAfter(dc: DebugClient, request: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
    const [, stopped] = await Promise.all([request(), dc.waitForEvent('stopped')]);
    return stopped as DebugProtocol.StoppedEvent;
}

/** The top frame of a thread: name, 1-based line, file name. */
export async function topFrame(dc: DebugClient, threadId: number): Promise<{ name: string; line: number; file?: string; id: number }> {
    const st = await dc.stackTraceRequest({ threadId });
    const f = st.body.stackFrames[0]!;
    return { name: f.name, line: f.line, file: f.source?.name, id: f.id };
}

/** The variables of a reference as `name → value`. */
export async function variables(dc: DebugClient, variablesReference: number, paging: Partial<DebugProtocol.VariablesArguments> = {}): Promise<DebugProtocol.Variable[]> {
    return (await dc.variablesRequest({ variablesReference, ...paging })).body.variables;
}

/** A scope of the top frame of a thread, by name. */
export async function scope(dc: DebugClient, threadId: number, name: string | RegExp): Promise<DebugProtocol.Scope> {
    const frame = await topFrame(dc, threadId);
    const scopes = (await dc.scopesRequest({ frameId: frame.id })).body.scopes;
    const s = scopes.find((x) => (typeof name === 'string' ? x.name === name : name.test(x.name)));
    if (!s) {
        throw new Error(`no scope ${name}; there are ${scopes.map((x) => x.name).join(', ')}`);
    }
    return s;
}

/** Follows a path of variable names from a reference; returns the last variable. */
export async function variableAt(dc: DebugClient, ref: number, path: readonly (string | RegExp)[]): Promise<DebugProtocol.Variable> {
    let current: DebugProtocol.Variable | undefined;
    let r = ref;
    for (const part of path) {
        const vars = await variables(dc, r);
        current = vars.find((v) => (typeof part === 'string' ? v.name === part : part.test(v.name)));
        if (!current) {
            throw new Error(`no variable ${part} among ${vars.map((v) => v.name).join(', ')}`);
        }
        r = current.variablesReference;
    }
    return current!;
}

/** `name → value` of a list of variables. */
export function valuesOf(vars: readonly DebugProtocol.Variable[]): Record<string, string> {
    return Object.fromEntries(vars.map((v) => [v.name, v.value]));
}
