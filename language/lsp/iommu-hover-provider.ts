/**
 * Hovers that show what the engine knows at that point of the scenario:
 * - a device (in a machine: after boot; in a scenario: just before the statement runs): its
 *   address, IOMMU group with viability, driver, the group's owner and domain;
 * - a call (its keyword, ioctl name or `let` name): the prediction (result, out-values, reason,
 *   the kernel source it mirrors) and what it changed in the kernel; a statement that runs
 *   several times (loops, procedures) lists its runs;
 * - an ioctl name: also its documentation, struct, sizes and kernel version;
 * - a constant: its value and meaning; an errno: its number and meaning; a struct field: its
 *   type and meaning; a variable: the value it holds; an IOMMU unit: what the driver found.
 * Every kernel fact comes from the engine's results and inspection views.
 */

import { AstUtils, CstUtils, GrammarUtils, type AstNode, type LangiumDocument, type LeafCstNode, type MaybePromise } from 'langium';
import { AstNodeHoverProvider } from 'langium/lsp';
import type { Hover, HoverParams } from 'vscode-languageserver';
import { errnoNumber, parseErrno, type ErrnoName } from '../../engine/errno.js';
import { deviceNode, groupNode } from '../../engine/inspect/kernel-views.js';
import { diffKernelStates } from '../../engine/inspect/state-diff.js';
import type { InspectNode } from '../../engine/inspect/tree.js';
import { NEWEST_KERNEL, formatKernelVersion, type KernelVersion } from '../../engine/machine/spec.js';
import type { KernelState } from '../../engine/state.js';
import { formatSize, hex } from '../../engine/u64.js';
import {
    availableIn, findField, findIoctl, setOfConstant, shortName, structSizeIn,
} from '../../engine/uapi/index.js';
import {
    isExpectation, isForStatement, isIoctlArg, isIoctlStatement, isIommuUnit, isKernelConstant, isMachine, isNameRef, isParameter,
    isScenario, isSendStatement, type KernelConstant, type Machine, type Parameter, type Statement,
} from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import type { ScenarioLowering } from '../lowering/scenario-lowering.js';
import { ownBinding } from '../scoping/bindings.js';
import { isDeviceNode } from '../scoping/machine-devices.js';
import type { ScenarioSimulator } from '../simulation/scenario-simulator.js';
import { ERRNO_DESCRIPTIONS } from './errno-descriptions.js';
import { kernelDevice } from './kernel-devices.js';
import { mainValueName, outcomeWord, runContext, shortResult, summarizeOutcomes } from './prediction-text.js';
import type { StatementRun, StatementRuns } from './statement-runs.js';

/** Runs of one statement listed one by one in a hover; more are summarized. */
const LISTED_RUNS = 8;

/** Words for the kinds of files ioctls are issued on. */
const FILE_KINDS: Readonly<Record<string, string>> = {
    'vfio-container': 'a container (`/dev/vfio/vfio`)',
    'vfio-group': 'a group (`/dev/vfio/N`)',
    'vfio-device': 'a device fd',
    iommufd: 'an iommufd (`/dev/iommu`)',
    kvm: '`/dev/kvm`',
    'kvm-vm': 'a VM fd',
    'kvm-device': 'a KVM device fd',
};

/** Hovers from the engine's results. */
export class IommuHoverProvider extends AstNodeHoverProvider {
    protected readonly runs: StatementRuns;
    protected readonly lowering: ScenarioLowering;
    protected readonly simulator: ScenarioSimulator;

    constructor(services: IommuServices) {
        super(services);
        this.runs = services.lsp.StatementRuns;
        this.lowering = services.lowering.ScenarioLowering;
        this.simulator = services.simulation.ScenarioSimulator;
    }

    override async getHoverContent(document: LangiumDocument, params: HoverParams): Promise<Hover | undefined> {
        const root = document.parseResult.value.$cstNode;
        if (!root) {
            return undefined;
        }
        const offset = document.textDocument.offsetAt(params.position);
        const leaf = CstUtils.findDeclarationNodeAtOffset(root, offset, this.grammarConfig.nameRegexp);
        if (!leaf || leaf.hidden || offset < leaf.offset || offset > leaf.end) {
            return undefined;
        }
        const markdown = this.hoverAt(leaf);
        return markdown ? { contents: { kind: 'markdown', value: markdown }, range: leaf.range } : undefined;
    }

    /** Not used: {@link getHoverContent} decides by position, not by declaration alone. */
    protected getAstNodeHoverContent(_node: AstNode): MaybePromise<string | undefined> {
        return undefined;
    }

    /** The hover text for a token, by what it is. */
    protected hoverAt(leaf: LeafCstNode): string | undefined {
        const node = leaf.astNode;
        const feature = GrammarUtils.findAssignment(leaf)?.feature;
        const targets = this.references.findDeclarations(leaf);
        const target = targets[0];
        const isOwnName = target === node;
        if (target && !isOwnName) {
            const text = this.referenceHover(node, target);
            if (text) {
                return text;
            }
        }
        if (isDeviceNode(node) && isOwnName) {
            return this.deviceHover(node, node);
        }
        if (isIommuUnit(node) && isOwnName) {
            return this.unitHover(node.name, node);
        }
        if (isMachine(node) && isOwnName) {
            return this.machineHover(node);
        }
        if (isExpectation(node) && feature === 'errno' && node.errno !== undefined) {
            return this.errnoHover(node.errno, node);
        }
        if (isIoctlArg(node) && feature === 'field' && node.field !== undefined) {
            return this.fieldHover(node.$container.ioctl, node.field);
        }
        const statement = this.runs.statementOf(node);
        if (!statement) {
            return undefined;
        }
        const prediction = this.callHover(statement);
        if (isIoctlStatement(statement) && (node === statement && feature === 'ioctl')) {
            const ioctl = this.ioctlHover(statement.ioctl, statement);
            return [prediction, ioctl].filter(Boolean).join('\n\n---\n\n') || undefined;
        }
        return prediction;
    }

    /** A name that refers to something: a device, a constant, a variable, a unit. */
    protected referenceHover(node: AstNode, target: AstNode): string | undefined {
        if (isDeviceNode(target)) {
            return this.deviceHover(target, node);
        }
        if (isKernelConstant(target)) {
            return this.constantHover(target);
        }
        if (isIommuUnit(target)) {
            return this.unitHover(target.name, node);
        }
        if (isMachine(target)) {
            return this.machineHover(target);
        }
        if (isParameter(target)) {
            return this.parameterHover(target, node);
        }
        return this.variableHover(target);
    }

    /** A procedure parameter: the device it stands for in this statement's first run, if any. */
    protected parameterHover(parameter: Parameter, at: AstNode): string {
        const point = this.runs.kernelAt(at);
        const step = point?.runs?.[0]?.step;
        const device = point && step && !isNameRef(at) ? kernelDevice(point.kernel, parameter, step) : undefined;
        if (point && device) {
            return this.deviceText(point.kernel, device.name, point.where);
        }
        return `parameter **${parameter.name}** of procedure \`${parameter.$container.name}\``;
    }

    // -----------------------------------------------------------------------------------------
    // Devices and units

    /** A device at the point of `at`: after boot in a machine, before the statement in a scenario. */
    protected deviceHover(device: AstNode, at: AstNode): string | undefined {
        const point = this.runs.kernelAt(at);
        if (!point) {
            return undefined;
        }
        const d = kernelDevice(point.kernel, device, point.runs?.[0]?.step);
        if (!d) {
            const name = (device as { name?: string }).name ?? '?';
            return `**${name}**: no such device ${point.where} (a VF or mdev exists once the scenario creates it)`;
        }
        return this.deviceText(point.kernel, d.name, point.where);
    }

    /** The device as the engine's views describe it. */
    protected deviceText(k: KernelState, name: string, where: string): string {
        const d = k.devices.get(name)!;
        const facts = leaves(deviceNode(k, d));
        const header = [`**${d.name}**`, d.devName !== d.name ? `\`${d.devName}\`` : undefined, facts.get('type') ?? d.bus]
            .filter(Boolean).join(' · ');
        const lines: string[] = [];
        const g = d.group === undefined ? undefined : k.groups.get(d.group);
        if (g) {
            const group = leaves(groupNode(k, g));
            const viable = group.get('viable') ?? '';
            const members = g.devices.length > 1 ? ` (with ${g.devices.filter(n => n !== d.name).join(', ')})` : '';
            lines.push(`- IOMMU group **${g.id}**${members}: ${viable === 'yes' ? 'viable' : `not viable${viable.startsWith('no: ') ? ` — ${viable.slice(4)}` : ''}`}`);
            lines.push(`- driver: ${facts.get('driver') ?? 'none'}`);
            lines.push(`- owner: ${group.get('owner') ?? 'none'}`);
            lines.push(`- domain: ${group.get('domain') ?? 'none'}`);
        } else {
            lines.push(`- IOMMU group: ${facts.get('group') ?? 'none'}`);
            lines.push(`- driver: ${facts.get('driver') ?? 'none'}`);
        }
        for (const key of ['iommu', 'mdev', 'vfio', 'no-snoop']) {
            const value = facts.get(key);
            if (value !== undefined) {
                lines.push(`- ${key}: ${value}`);
            }
        }
        return `${header}\n\n${lines.join('\n')}\n\n_${where}_`;
    }

    /** An IOMMU unit as its driver set it up at boot. */
    protected unitHover(name: string, at: AstNode): string | undefined {
        const point = this.runs.kernelAt(at);
        const unit = point?.kernel.iommus.get(name);
        if (!unit) {
            return undefined;
        }
        const features = [
            unit.coherent && 'coherent', unit.enforceCoherency && 'enforce-coherency', unit.intrRemap && 'intr-remap',
            unit.nesting && 'nesting', unit.dirtyTracking && 'dirty-tracking', unit.sva && 'sva',
            unit.firstStage && 'first-stage', unit.secondStage && 'second-stage',
        ].filter((f): f is string => typeof f === 'string');
        const sizes: string[] = [];
        for (let bit = 0n; bit < 64n; bit++) {
            if ((unit.pgsizeBitmap >> bit) & 1n) {
                sizes.push(formatSize(1n << bit));
            }
        }
        const groups = [...point!.kernel.groups.values()].filter(g => g.iommu === name).map(g => g.id);
        return [
            `**${unit.name}** · ${unit.kind}${unit.kind === 'intel-vtd' ? ` (${unit.scalable ? 'scalable' : 'legacy'} mode)` : ''}`,
            '',
            `- address width: ${unit.addressWidth} bits`,
            `- page sizes: ${sizes.join(' ')}`,
            `- PASIDs: ${unit.maxPasids > 0 ? unit.maxPasids : 'none'}`,
            `- features: ${features.join(' ') || 'none'}`,
            `- groups: ${groups.join(', ') || 'none'}`,
        ].join('\n');
    }

    /** A machine: its IOMMU groups after boot, with their devices and viability. */
    protected machineHover(machine: Machine): string {
        const k = this.simulator.boot(machine).kernel;
        const groups = [...k.groups.values()].sort((a, b) => a.id - b.id);
        const lines = groups.map(g => {
            const viable = leaves(groupNode(k, g)).get('viable') ?? '';
            return `- group ${g.id}: ${g.devices.join(', ')} (${viable === 'yes' ? 'viable' : 'not viable'})`;
        });
        const version = this.lowering.machine(machine).kernel ?? NEWEST_KERNEL;
        return [`**${machine.name}** · Linux ${formatKernelVersion(version)} · ${groups.length} IOMMU group${groups.length === 1 ? '' : 's'} after boot`, '', ...lines].join('\n');
    }

    // -----------------------------------------------------------------------------------------
    // Calls

    /** The prediction for a statement: its result, out-values, reason, source and changes. */
    protected callHover(statement: AstNode & Statement): string | undefined {
        const runs = this.runs.runsOf(statement);
        if (runs.length === 0) {
            return undefined;
        }
        if (runs.length === 1) {
            return this.singleRunText(runs[0]!);
        }
        return this.manyRunsText(runs);
    }

    protected singleRunText(run: StatementRun): string {
        const { result, step } = run;
        const lines = [`**${result.op}** → **${outcomeWord(result)}**${result.errno ? ` (${errnoSummary(result.errno)})` : ''} · _${step.process}_`];
        const context = runContext(step);
        if (context) {
            lines.push(`_${context}_`);
        }
        lines.push(...this.resultDetails(run));
        lines.push('', '**Kernel state changes**', '', ...this.changeLines(run));
        return lines.join('\n');
    }

    /** Out-values, reason, source, DMA translation and expectation of one run. */
    protected resultDetails(run: StatementRun): string[] {
        const { result, step } = run;
        const lines: string[] = [];
        const values = Object.entries(result.values);
        if (values.length > 0) {
            const main = mainValueName(step);
            lines.push('', ...values.map(([name, v]) => `- \`${name}\` = ${v.display ?? (v.value > 9n ? `${hex(v.value)} (${v.value})` : `${v.value}`)}${name === main && step.bind ? ` (bound to \`${step.bindDisplay ?? step.bind}\`)` : ''}`));
        }
        if (result.dma && result.dma.segments.length > 1) {
            lines.push('', ...result.dma.segments.map(s => `- IOVA ${hex(s.iova)} +${formatSize(s.length)} → ${hex(s.pa)} (${formatSize(s.pageSize)} page${s.domain !== undefined ? `, domain ${s.domain}` : ''})`));
        }
        if (result.reason) {
            lines.push('', result.reason);
        }
        if (result.source) {
            lines.push('', `Linux: \`${result.source.file}\`${result.source.func ? ` \`${result.source.func}\`` : ''}`);
        }
        if (step.expect) {
            const want = step.expect.outcome.kind === 'errno' ? step.expect.outcome.errno : step.expect.outcome.kind;
            lines.push('', result.expectation?.matched ? `\`expect ${want}\`: met` : `\`expect ${want}\`: **not met**: ${result.expectation?.message ?? ''}`);
        }
        return lines;
    }

    /** The state diff of a run's tick, in words. */
    protected changeLines(run: StatementRun): string[] {
        if (!run.after) {
            return ['- none: it never ran'];
        }
        if (run.result.outcome === 'errno' && run.after.kernel === run.before.kernel) {
            return ['- none (a call that fails changes nothing)'];
        }
        const diff = diffKernelStates(run.before.kernel, run.after.kernel);
        return diff.length > 0 ? diff.map(line => `- ${line}`) : ['- none'];
    }

    protected manyRunsText(runs: readonly StatementRun[]): string {
        const first = runs[0]!;
        const lines = [`**${first.result.op}** runs ${runs.length} times: ${summarizeOutcomes(runs.map(r => r.result))} · _${first.step.process}_`, ''];
        for (const run of runs.slice(0, LISTED_RUNS)) {
            const context = runContext(run.step) || `run ${runs.indexOf(run) + 1}`;
            const why = run.result.outcome === 'ok' ? '' : run.result.reason ? `: ${run.result.reason}` : '';
            lines.push(`- ${context}: ${shortResult(run.step, run.result)}${why}`);
        }
        if (runs.length > LISTED_RUNS) {
            lines.push(`- … and ${runs.length - LISTED_RUNS} more`);
        }
        lines.push('', `**Kernel state changes** (${runContext(first.step) || 'first run'})`, '', ...this.changeLines(first));
        return lines.join('\n');
    }

    // -----------------------------------------------------------------------------------------
    // The uAPI

    /** An ioctl's documentation, struct, sizes and kernel version (for the machine's kernel). */
    protected ioctlHover(name: string, at: AstNode): string | undefined {
        const def = findIoctl(name);
        if (!def) {
            return undefined;
        }
        const version = this.kernelVersionAt(at);
        const lines = [`**${def.name}** — ${def.doc}`, ''];
        const facts: string[] = [];
        if (def.arg.kind === 'struct') {
            const struct = def.arg.struct;
            const size = structSizeIn(struct, version);
            facts.push(`\`struct ${struct.name}\`, ${size} bytes in Linux ${formatKernelVersion(version)} (minimum ${struct.minSize})`);
        } else if (def.arg.kind !== 'none') {
            facts.push(`argument: ${def.arg.doc}`);
        }
        facts.push(`since Linux ${formatKernelVersion(def.since)}${availableIn(def, version) ? '' : ` (**not in ${formatKernelVersion(version)}**: ENOTTY)`}`);
        facts.push(`on ${def.fileKinds.map(k => FILE_KINDS[k] ?? k).join(' or ')}`);
        if (def.main) {
            facts.push(`\`let\` binds \`${def.main === 'ret' ? def.retName ?? 'ret' : def.main}\``);
        }
        facts.push(`handler: \`${def.source}\``);
        lines.push(...facts.map(f => `- ${f}`));
        if (def.arg.kind === 'struct') {
            const fields = def.arg.struct.fields.filter(f => availableIn(f, version));
            lines.push('', '| field | type | | |', '| --- | --- | --- | --- |');
            lines.push(...fields.map(f => `| \`${f.name}\` | ${f.type}${f.count ? `[${f.count}]` : ''} | ${f.dir} | ${f.doc.replace(/\|/g, '\\|')} |`));
        }
        return lines.join('\n');
    }

    /** A field of an ioctl's struct. */
    protected fieldHover(ioctl: string, field: string): string | undefined {
        const def = findIoctl(ioctl);
        const f = def && findField(def, field);
        if (!def || !f) {
            return undefined;
        }
        const set = f.constants ? ` · constants: \`${f.constants}\`` : '';
        return `**${field}** · ${f.type} · ${f.dir}${set}\n\n${f.doc}\n\n_field of \`${def.arg.kind === 'struct' ? def.arg.struct.name : def.name}\` (${def.name})_`;
    }

    /** A constant: its value, meaning and the set it belongs to. */
    protected constantHover(constant: KernelConstant): string {
        const set = setOfConstant(constant.name);
        const def = set?.constants.find(c => c.name === constant.name);
        const short = def && set ? shortName(def, set) : undefined;
        const value = constant.value;
        const lines = [`**${constant.name}** = \`${hex(value)}\`${value > 9n ? ` (${value})` : ''}`, '', constant.doc];
        const facts: string[] = [];
        if (set) {
            facts.push(`${set.kind === 'flags' ? 'flag of' : 'value of'} \`${set.id}\`${short && short !== constant.name ? `, short name \`${short}\`` : ''}`);
        }
        if (def?.since) {
            facts.push(`since Linux ${formatKernelVersion(def.since)}`);
        }
        if (def?.removedIn) {
            facts.push(`removed in Linux ${formatKernelVersion(def.removedIn)}`);
        }
        if (def?.aliasOf) {
            facts.push(`alias of \`${def.aliasOf}\``);
        }
        if (facts.length > 0) {
            lines.push('', facts.join(' · '));
        }
        return lines.join('\n');
    }

    /** An errno: its number and meaning, and whether the prediction agrees. */
    protected errnoHover(written: string, expectation: AstNode): string | undefined {
        const errno = parseErrno(written);
        if (!errno) {
            return undefined;
        }
        const description = ERRNO_DESCRIPTIONS[errno];
        const lines = [`**${errno}** — errno ${errnoNumber(errno)}: ${description.text}`];
        if (written !== errno) {
            lines[0] += ` (\`${written}\` is another name for it)`;
        }
        if (description.typical) {
            lines.push('', `Usually: ${description.typical}.`);
        }
        const statement = this.runs.statementOf(expectation.$container ?? expectation);
        const runs = statement ? this.runs.runsOf(statement) : [];
        if (runs.length > 0) {
            const got = summarizeOutcomes(runs.map(r => r.result));
            const met = runs.every(r => r.result.expectation?.matched);
            lines.push('', `Predicted: ${got}${met ? ' (as expected)' : ''}`);
        }
        return lines.join('\n');
    }

    // -----------------------------------------------------------------------------------------
    // Variables

    /** A binding: what its statement produced, or what a loop variable ranges over. */
    protected variableHover(target: AstNode): string | undefined {
        if (isForStatement(target)) {
            return `loop variable **${target.name}**`;
        }
        const binding = ownBinding(target) ?? (isSendStatement(target) ? target : undefined);
        if (!binding) {
            return undefined;
        }
        const runs = this.runs.runsOf(binding);
        const name = binding.name;
        const line = (binding.$cstNode?.range.start.line ?? 0) + 1;
        if (runs.length === 0) {
            return `variable **${name}**, bound on line ${line}`;
        }
        if (isSendStatement(binding)) {
            const r = runs[0]!.result;
            return `**${name}**: fd ${r.values['fd']?.value ?? '?'} in ${binding.receiver.$refText}, received on line ${line} (${outcomeWord(r)})`;
        }
        const values = runs.map(run => {
            const main = mainValueName(run.step);
            const v = main ? run.result.values[main] : undefined;
            return run.result.outcome === 'ok' && v ? (v.display ?? hexOrDecimal(v.value)) : outcomeWord(run.result);
        });
        const shown = [...new Set(values)];
        const text = shown.length === 1 ? shown[0]! : `${shown.slice(0, 4).join(', ')}${shown.length > 4 ? ', …' : ''} (${runs.length} runs)`;
        return `**${name}** = ${text}\n\n_bound on line ${line}_`;
    }

    /** The kernel version of the machine the node's scenario (or machine) runs. */
    protected kernelVersionAt(node: AstNode): KernelVersion {
        const machine = AstUtils.getContainerOfType(node, isMachine) ?? AstUtils.getContainerOfType(node, isScenario)?.machine.ref;
        return (machine && this.lowering.machine(machine).kernel) ?? NEWEST_KERNEL;
    }
}

/** The named leaves of a view node, by name. */
function leaves(node: InspectNode): Map<string, string> {
    return new Map((node.children?.() ?? []).map(child => [child.name, child.value]));
}

function errnoSummary(errno: ErrnoName): string {
    return `errno ${errnoNumber(errno)}, ${ERRNO_DESCRIPTIONS[errno].text}`;
}

function hexOrDecimal(value: bigint): string {
    return value < 0n || value > 9n ? hex(value) : `${value}`;
}
