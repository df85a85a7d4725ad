/**
 * The `iommu-scenarios` command line: `check`, `run`, `groups` (text or `--json`), `lsp --stdio`
 * (the language server for any LSP editor) and `dap` (the debug adapter over stdio).
 *
 * Exit codes: 0 success; 1 `check` found an error / `run` had a step that failed its expectation
 * / `groups` found errors in the machine; 2 usage errors (unknown command, missing file).
 */

import type { BootResult } from '../../engine/kernel.js';
import { collectDiagnostics, formatDiagnostic } from './check.js';
import { formatGroups, groupsJson, selectMachines } from './groups.js';
import { formatRun, scenarioJson, selectScenarios } from './run.js';
import { CliError, loadWorkspace } from './workspace.js';

export interface CliIo {
    readonly out: (text: string) => void;
    readonly err: (text: string) => void;
    readonly cwd: string;
}

export const USAGE = `Usage: iommu-scenarios <command> [options]

Commands:
  check FILE...                     parse, link and simulate; print diagnostics
  run FILE [--scenario NAME]        simulate and print each step with its result
  groups FILE [--machine NAME]      print the IOMMU groups Linux derives
  lsp --stdio                       run the language server (for any LSP editor)
  dap                               run the debug adapter over stdio (DAP)

Options:
  --json                            print one JSON document on stdout
  -h, --help                        this help
  --version                         the version`;

interface Parsed {
    readonly command?: string;
    readonly files: string[];
    readonly json: boolean;
    readonly scenario?: string;
    readonly machine?: string;
}

function parseArgs(argv: readonly string[]): Parsed {
    const files: string[] = [];
    let json = false;
    let scenario: string | undefined;
    let machine: string | undefined;
    let command: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        if (a === '--json') {
            json = true;
        } else if (a === '--scenario' || a === '--machine') {
            const v = argv[++i];
            if (v === undefined) {
                throw new CliError(`${a} needs a name`);
            }
            if (a === '--scenario') {
                scenario = v;
            } else {
                machine = v;
            }
        } else if (a.startsWith('--scenario=')) {
            scenario = a.slice('--scenario='.length);
        } else if (a.startsWith('--machine=')) {
            machine = a.slice('--machine='.length);
        } else if (a.startsWith('-') && command !== 'lsp' && command !== 'dap') {
            throw new CliError(`unknown option ${a}`);
        } else if (command === undefined) {
            command = a;
        } else {
            files.push(a);
        }
    }
    return { command, files, json, scenario, machine };
}

/** Runs the command line; returns the exit code. `lsp` and `dap` never return (they serve stdio). */
export async function runCli(argv: readonly string[], io: CliIo, version = '0.0.0'): Promise<number> {
    if (argv.includes('-h') || argv.includes('--help') || argv.length === 0) {
        io.out(USAGE);
        return argv.length === 0 ? 2 : 0;
    }
    if (argv[0] === '--version') {
        io.out(version);
        return 0;
    }
    try {
        const args = parseArgs(argv);
        switch (args.command) {
            case 'check':
                return await check(args, io);
            case 'run':
                return await run(args, io);
            case 'groups':
                return await groups(args, io);
            case 'lsp': {
                const { startIommuLanguageServer } = await import('../lsp/start-language-server.js');
                startIommuLanguageServer();
                return await new Promise<number>(() => undefined);
            }
            case 'dap': {
                const { runDebugAdapterStdio } = await import('../debug/index.js');
                runDebugAdapterStdio();
                return await new Promise<number>(() => undefined);
            }
            default:
                throw new CliError(args.command ? `unknown command '${args.command}'` : 'no command given');
        }
    } catch (e) {
        if (e instanceof CliError) {
            io.err(`iommu-scenarios: ${e.message}`);
            return 2;
        }
        throw e;
    }
}

function needFiles(args: Parsed, max?: number): void {
    if (args.files.length === 0) {
        throw new CliError(`${args.command} needs a file`);
    }
    if (max !== undefined && args.files.length > max) {
        throw new CliError(`${args.command} takes ${max} file`);
    }
}

async function check(args: Parsed, io: CliIo): Promise<number> {
    needFiles(args);
    const ws = await loadWorkspace(args.files);
    const diagnostics = collectDiagnostics(ws, io.cwd);
    if (args.json) {
        io.out(JSON.stringify({ diagnostics }, null, 2));
    } else {
        for (const d of diagnostics) {
            io.out(formatDiagnostic(d));
        }
        const errors = diagnostics.filter((d) => d.severity === 'error').length;
        const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
        io.err(`${args.files.length} file${args.files.length > 1 ? 's' : ''} checked: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
    }
    return diagnostics.some((d) => d.severity === 'error') ? 1 : 0;
}

async function run(args: Parsed, io: CliIo): Promise<number> {
    needFiles(args, 1);
    const ws = await loadWorkspace(args.files);
    const errors = collectDiagnostics(ws, io.cwd).filter((d) => d.severity === 'error' && !['call-fails', 'expect-mismatch', 'dma-fault', 'blocked-at-end', 'invalid-step'].includes(d.code));
    for (const e of errors) {
        io.err(formatDiagnostic(e));
    }
    const simulator = ws.iommu.simulation.ScenarioSimulator;
    const scenarios = selectScenarios(ws, args.scenario);
    const runs = scenarios.map((s) => ({ node: s, sim: simulator.simulateSync(s) }));
    for (const r of runs.filter((x) => !x.sim)) {
        io.err(`scenario ${r.node.name}: not run (fix the errors above first)`);
    }
    const done = runs.flatMap((r) => (r.sim ? [r.sim] : []));
    if (args.json) {
        io.out(JSON.stringify({ scenarios: done.map((s) => scenarioJson(s.run)) }, null, 2));
    } else {
        io.out(done.map((s) => formatRun(s.run)).join('\n\n'));
    }
    const failed = done.some((s) => !scenarioJson(s.run).passed) || runs.some((r) => !r.sim) || errors.length > 0;
    return failed ? 1 : 0;
}

async function groups(args: Parsed, io: CliIo): Promise<number> {
    needFiles(args, 1);
    const ws = await loadWorkspace(args.files);
    const simulator = ws.iommu.simulation.ScenarioSimulator;
    const machines = selectMachines(ws, args.machine).map((m) => ({ name: m.name, boot: simulator.boot(m) as BootResult }));
    const booted = machines.map((m) => ({ name: m.name, kernel: m.boot.kernel }));
    if (args.json) {
        io.out(JSON.stringify(groupsJson(booted), null, 2));
    } else {
        io.out(formatGroups(booted));
    }
    const machineErrors = machines.some((m) => m.boot.diagnostics.some((d) => d.severity === 'error'));
    return machineErrors ? 1 : 0;
}
