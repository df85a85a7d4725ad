/**
 * The debug adapter over stdio, for editors other than VS Code (nvim-dap, Theia...), for
 * `DebugClient` tests and for `iommu-scenarios dap`: DAP messages on stdin and stdout.
 */

import { ScenarioDebugSession } from './scenario-session.js';

/**
 * Runs one debug session on this process's stdin and stdout until the client disconnects (the
 * session then exits the process) or SIGTERM arrives. Nothing else may write to stdout.
 */
export function runDebugAdapterStdio(): ScenarioDebugSession {
    const session = new ScenarioDebugSession();
    process.on('SIGTERM', () => session.shutdown());
    session.start(process.stdin, process.stdout);
    return session;
}
