/**
 * Quick fixes where the fix is known, keyed on the diagnostics' `data.code`:
 * - `unknown-*` with suggestions ("did you mean 'nic0' or 'nic1'?"): one fix per suggestion,
 *   replacing the unknown name;
 * - `call-fails` with EPERM for a group that is not viable, and `group-not-viable`: bind the
 *   devices the reason names (those the engine has on a kernel driver) to vfio-pci, unbinding
 *   them first;
 * - `call-fails`: `expect ERRNO` with the errno every run of the call fails with;
 * - `dma-fault`: `expect fault`.
 * The errno, the devices and their drivers come from the engine's results for the statement.
 */

import { AstUtils, CstUtils, type AstNode, type LangiumDocument, type MaybePromise } from 'langium';
import type { CodeActionProvider } from 'langium/lsp';
import {
    CodeActionKind, type CodeAction, type CodeActionParams, type Command, type Diagnostic, type Position,
} from 'vscode-languageserver';
import { deviceLabel } from '../../engine/inspect/kernel-views.js';
import { driverInfo, isVfioDriver } from '../../engine/machine/drivers.js';
import type { Device, KernelState } from '../../engine/state.js';
import { isScenario, type Statement } from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import { isMachineDevice, type MachineDevices } from '../scoping/machine-devices.js';
import { SimulationCodes } from '../simulation/simulation-diagnostics.js';
import type { StatementRuns } from './statement-runs.js';

/** The suggestions of a "did you mean 'a', 'b' or 'c'?" message, best first. */
export function suggestionsOf(message: string): string[] {
    const match = /did you mean ([^?]*)\?/.exec(message);
    return match ? [...match[1]!.matchAll(/'([^']+)'/g)].map(m => m[1]!) : [];
}

/** Quick fixes from the engine's results and the linker's suggestions. */
export class IommuCodeActionProvider implements CodeActionProvider {
    protected readonly runs: StatementRuns;
    protected readonly machineDevices: MachineDevices;

    constructor(services: IommuServices) {
        this.runs = services.lsp.StatementRuns;
        this.machineDevices = services.references.MachineDevices;
    }

    getCodeActions(document: LangiumDocument, params: CodeActionParams): MaybePromise<Array<Command | CodeAction> | undefined> {
        const actions: CodeAction[] = [];
        for (const diagnostic of params.context.diagnostics) {
            actions.push(...this.actionsFor(document, diagnostic));
        }
        return actions;
    }

    /** The fixes of one diagnostic. */
    protected actionsFor(document: LangiumDocument, diagnostic: Diagnostic): CodeAction[] {
        const code = codeOf(diagnostic);
        if (code === undefined) {
            return [];
        }
        if (code.startsWith('unknown-')) {
            return this.replaceName(document, diagnostic);
        }
        switch (code) {
            case SimulationCodes.CallFails:
                return [...this.bindToVfio(document, diagnostic, 'before'), ...this.expectErrno(document, diagnostic)];
            case SimulationCodes.GroupNotViable:
                return this.bindToVfio(document, diagnostic, 'after');
            case SimulationCodes.DmaFault:
                return this.expectFault(document, diagnostic);
            default:
                return [];
        }
    }

    /** One fix per suggested name. */
    protected replaceName(document: LangiumDocument, diagnostic: Diagnostic): CodeAction[] {
        return suggestionsOf(messageOf(diagnostic)).map((name, i) => ({
            title: `Change to '${name}'`,
            kind: CodeActionKind.QuickFix,
            diagnostics: [diagnostic],
            isPreferred: i === 0,
            edit: { changes: { [document.uri.toString()]: [{ range: diagnostic.range, newText: name }] } },
        }));
    }

    /** `expect ERRNO` when every run of the call fails with the same errno. */
    protected expectErrno(document: LangiumDocument, diagnostic: Diagnostic): CodeAction[] {
        const statement = this.statementAt(document, diagnostic);
        const runs = statement ? this.runs.runsOf(statement) : [];
        const errno = runs[0]?.result.errno;
        const expected = statement !== undefined && 'expect' in statement && statement.expect !== undefined;
        if (!statement?.$cstNode || !errno || expected || !runs.every(r => r.result.outcome === 'errno' && r.result.errno === errno)) {
            return [];
        }
        return [this.insertAction(document, diagnostic, `Add 'expect ${errno}' (the call is meant to fail)`, statement.$cstNode.range.end, ` expect ${errno}`)];
    }

    /** `expect fault` on a DMA that faults. */
    protected expectFault(document: LangiumDocument, diagnostic: Diagnostic): CodeAction[] {
        const statement = this.statementAt(document, diagnostic);
        if (!statement?.$cstNode || statement.$type !== 'DmaStatement' || statement.expect) {
            return [];
        }
        return [this.insertAction(document, diagnostic, "Add 'expect fault' (the DMA is meant to fault)", statement.$cstNode.range.end, ' expect fault')];
    }

    /**
     * Binds the devices the reason names to a VFIO driver: before the failing call, or after
     * the `bind` whose group is left not viable.
     */
    protected bindToVfio(document: LangiumDocument, diagnostic: Diagnostic, where: 'before' | 'after'): CodeAction[] {
        const statement = this.statementAt(document, diagnostic);
        const run = statement ? this.runs.runsOf(statement)[0] : undefined;
        if (!statement?.$cstNode || !run?.after || (where === 'before' && run.result.errno !== 'EPERM')) {
            return [];
        }
        const devices = this.namedKernelDriverUsers(run.after.kernel, messageOf(diagnostic), statement);
        if (devices.length === 0) {
            return [];
        }
        const indent = indentOf(document, statement.$cstNode.range.start.line);
        const vfioDriver = (d: Device) => d.bus === 'platform' ? 'vfio-platform' : 'vfio-pci';
        const lines = devices.flatMap(d => [...(d.driver ? [`unbind ${d.name}`] : []), `bind ${d.name} ${vfioDriver(d)}`]);
        const names = devices.map(d => d.name).join(', ');
        const targets = [...new Set(devices.map(vfioDriver))].join(', ');
        const drivers = [...new Set(devices.map(d => d.driver).filter((x): x is string => x !== null))].join(', ');
        const title = `Bind ${names} to ${targets}${drivers ? ` (unbind ${drivers} first)` : ''}`;
        if (where === 'before') {
            const text = lines.map(line => `${line}\n${indent}`).join('');
            return [this.insertAction(document, diagnostic, title, statement.$cstNode.range.start, text, true)];
        }
        const line = statement.$cstNode.range.end.line;
        const end: Position = { line, character: lineText(document, line).length };
        return [this.insertAction(document, diagnostic, title, end, lines.map(l => `\n${indent}${l}`).join(''), true)];
    }

    /**
     * The devices the message names (by the engine's label or name) that the kernel has on a
     * DMA-API driver, which the scenario can name (a named device of its machine).
     */
    protected namedKernelDriverUsers(k: KernelState, message: string, node: AstNode): Device[] {
        const machine = AstUtils.getContainerOfType(node, isScenario)?.machine.ref;
        const nameable = new Set(machine ? this.machineDevices.devicesOf(machine).filter(isMachineDevice).map(d => d.name) : []);
        return [...k.devices.values()].filter(d => d.driver !== null && !isVfioDriver(d.driver) && !driverInfo(d.driver).driverManagedDma
            && message.includes(deviceLabel(d)) && nameable.has(d.name));
    }

    /** The statement a diagnostic is on. */
    protected statementAt(document: LangiumDocument, diagnostic: Diagnostic): (AstNode & Statement) | undefined {
        const root = document.parseResult.value.$cstNode;
        const offset = document.textDocument.offsetAt(diagnostic.range.start);
        const leaf = root && CstUtils.findLeafNodeAtOffset(root, offset);
        return leaf ? this.runs.statementOf(leaf.astNode) : undefined;
    }

    protected insertAction(document: LangiumDocument, diagnostic: Diagnostic, title: string, at: Position, text: string, preferred = false): CodeAction {
        return {
            title,
            kind: CodeActionKind.QuickFix,
            diagnostics: [diagnostic],
            isPreferred: preferred,
            edit: { changes: { [document.uri.toString()]: [{ range: { start: at, end: at }, newText: text }] } },
        };
    }
}

/** The language's code of a diagnostic (`data.code`, else `code`). */
function codeOf(diagnostic: Diagnostic): string | undefined {
    const data = diagnostic.data as { code?: unknown } | undefined;
    const code = typeof data?.code === 'string' ? data.code : diagnostic.code;
    return code === undefined ? undefined : String(code);
}

function messageOf(diagnostic: Diagnostic): string {
    return typeof diagnostic.message === 'string' ? diagnostic.message : diagnostic.message.value;
}

function lineText(document: LangiumDocument, line: number): string {
    const text = document.textDocument.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } });
    return text.replace(/\r?\n$/, '');
}

function indentOf(document: LangiumDocument, line: number): string {
    return /^\s*/.exec(lineText(document, line))![0];
}
