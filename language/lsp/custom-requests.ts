/**
 * The language server's own requests (names and types in language/protocol/messages.ts): the
 * IOMMU groups and the PCI topology of a document's machines, its scenarios and their
 * expectations, running one scenario; and a notification when a document has been simulated.
 */

import { DocumentState, URI, type LangiumDocument } from 'langium';
import type { LangiumSharedServices } from 'langium/lsp';
import type { Connection } from 'vscode-languageserver';
import { groupViability } from '../../engine/inspect/kernel-views.js';
import type { PciNodeSpec } from '../../engine/machine/spec.js';
import type { KernelState } from '../../engine/state.js';
import type { IommuFile, Machine } from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import {
    DocumentSimulatedNotification, GroupsRequest, RunScenarioRequest, ScenariosRequest, TopologyRequest,
    type DocumentSimulatedParams, type GroupInfo, type GroupsParams, type GroupsResult, type MachineTopology, type Range,
    type RunScenarioParams, type RunScenarioResult, type ScenariosParams, type ScenariosResult, type TopologyNode, type TopologyResult,
} from '../protocol/messages.js';
import { runDiagnostics } from '../simulation/simulation-diagnostics.js';
import { scenarioJson } from '../cli/run.js';

function documentOf(shared: LangiumSharedServices, uri: string): LangiumDocument | undefined {
    const parsed = URI.parse(uri);
    return shared.workspace.LangiumDocuments.hasDocument(parsed) ? shared.workspace.LangiumDocuments.getDocument(parsed) : undefined;
}

function machinesOf(doc: LangiumDocument | undefined, name?: string): Machine[] {
    const all = doc ? (doc.parseResult.value as IommuFile).machines : [];
    return name === undefined ? all : all.filter((m) => m.name === name);
}

function rangeOf(node: { $cstNode?: { range: Range } }): Range | undefined {
    return node.$cstNode?.range;
}

export function groupInfos(k: KernelState): GroupInfo[] {
    return [...k.groups.values()].sort((a, b) => a.id - b.id).map((g) => {
        const v = groupViability(k, g);
        return {
            id: g.id, viable: v.viable, why: v.why, iommu: g.iommu,
            devices: g.devices.map((n) => {
                const d = k.devices.get(n)!;
                return { name: d.name, devName: d.devName, driver: d.driver, type: d.pci?.type ?? d.bus };
            }),
        };
    });
}

function acsText(node: PciNodeSpec): string | null {
    if (!node.acs) {
        return null;
    }
    const all = ['sv', 'rr', 'cr', 'uf'];
    const en = node.acs.enabled;
    return all.every((f) => en.includes(f as never)) && en.length === 4 ? 'acs' : `acs(${en.join(' ')})`;
}

function topologyNodes(k: KernelState, nodes: readonly PciNodeSpec[], segment: number): TopologyNode[] {
    return nodes.map((n) => {
        const key = n.name ?? [...k.devices.values()].find((d) => d.pci && d.pci.bdf.segment === segment && d.pci.bdf.bus === n.bdf.bus && d.pci.bdf.device === n.bdf.device && d.pci.bdf.fn === n.bdf.fn)?.name;
        const dev = key ? k.devices.get(key) : undefined;
        const children: readonly PciNodeSpec[] = n.type === 'switch' ? n.ports : n.type === 'endpoint' ? [] : n.children;
        return {
            name: n.name ?? dev?.devName ?? '?',
            devName: dev?.devName ?? '?',
            type: dev?.pci?.type ?? n.type,
            group: dev?.group ?? null,
            driver: dev?.driver ?? null,
            acs: acsText(n),
            multifunction: dev?.pci?.multifunction ?? false,
            range: n.loc ? { start: n.loc.start, end: n.loc.end } : undefined,
            children: topologyNodes(k, children, segment),
        };
    });
}

export function registerCustomRequests(connection: Connection, shared: LangiumSharedServices, iommu: IommuServices): void {
    const simulator = iommu.simulation.ScenarioSimulator;
    const lowering = iommu.lowering.ScenarioLowering;

    connection.onRequest(GroupsRequest, (params: GroupsParams): GroupsResult => ({
        machines: machinesOf(documentOf(shared, params.uri), params.machine).map((m) => ({
            name: m.name, range: rangeOf(m), groups: groupInfos(simulator.boot(m).kernel),
        })),
    }));

    connection.onRequest(TopologyRequest, (params: GroupsParams): TopologyResult => ({
        machines: machinesOf(documentOf(shared, params.uri), params.machine).map((m): MachineTopology => {
            const k = simulator.boot(m).kernel;
            const spec = lowering.machine(m);
            return {
                name: m.name,
                iommus: spec.iommus.map((u) => ({ name: u.name, kind: u.kind, features: [...u.features] })),
                segments: spec.segments.map((s) => ({ segment: s.segment, iommu: s.iommu, nodes: topologyNodes(k, s.children, s.segment) })),
                groups: groupInfos(k),
            };
        }),
    }));

    connection.onRequest(ScenariosRequest, (params: ScenariosParams): ScenariosResult => {
        const doc = documentOf(shared, params.uri);
        const root = doc?.parseResult.value as IommuFile | undefined;
        return {
            scenarios: (root?.scenarios ?? []).map((s) => {
                const program = lowering.scenario(s).program;
                const seen = new Set<string>();
                const expects = (program?.steps ?? []).flatMap((st) => {
                    if (!st.expect || !st.loc) {
                        return [];
                    }
                    const id = `${st.loc.start.line}:${st.loc.start.character}`;
                    if (seen.has(id)) {
                        return [];
                    }
                    seen.add(id);
                    const want = st.expect.outcome.kind === 'errno' ? st.expect.outcome.errno : st.expect.outcome.kind;
                    return [{ id, label: `line ${st.loc.start.line + 1}: ${st.op === 'ioctl' ? st.ioctl : st.op} expect ${want}`, range: { start: st.loc.start, end: st.loc.end } }];
                });
                return { name: s.name, machine: s.machine.$refText, range: rangeOf(s)!, expects };
            }),
        };
    });

    connection.onRequest(RunScenarioRequest, (params: RunScenarioParams): RunScenarioResult => {
        const doc = documentOf(shared, params.uri);
        const node = (doc?.parseResult.value as IommuFile | undefined)?.scenarios.find((s) => s.name === params.scenario);
        if (!node) {
            return { scenario: params.scenario, passed: false, steps: [], problems: [`no scenario '${params.scenario}' in ${params.uri}`] };
        }
        const sim = simulator.simulateSync(node);
        if (!sim) {
            return { scenario: params.scenario, passed: false, steps: [], problems: ['the scenario has errors: fix them before it can run'] };
        }
        const json = scenarioJson(sim.run);
        const steps = sim.run.results.map((r, i) => {
            const st = sim.program.steps[i]!;
            return {
                range: st.loc ? { start: st.loc.start, end: st.loc.end } : undefined,
                process: r.process, op: r.op, result: json.steps[i]!.result, matched: r.expectation?.matched ?? false,
                message: r.expectation?.matched ? undefined : r.expectation?.message,
                expectId: st.expect && st.loc ? `${st.loc.start.line}:${st.loc.start.character}` : undefined,
            };
        });
        const problems = runDiagnostics(sim.run).filter((d) => d.code === 'blocked-at-end' || d.code === 'run-truncated').map((d) => d.message);
        return { scenario: params.scenario, passed: json.passed && problems.length === 0, steps, problems };
    });

    shared.workspace.DocumentBuilder.onBuildPhase(DocumentState.Validated, (docs) => {
        for (const d of docs) {
            const params: DocumentSimulatedParams = { uri: d.uri.toString(), version: d.textDocument.version };
            void connection.sendNotification(DocumentSimulatedNotification, params);
        }
    });
}
