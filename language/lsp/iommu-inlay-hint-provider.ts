/**
 * Inlay hints from the engine: each device's IOMMU group after its name in a machine (`group 2`,
 * as booted; mdevs of the machine too), and each call's predicted result at the end of its line
 * (`→ ok fd=4`, `→ EPERM`, `→ pa 0x3ffe0000`; a statement that runs several times: `→ EBADF ×3`).
 *
 * Settings (section `iommu`, read through workspace/configuration): `inlayHints.enabled` turns
 * all of them off; `inlayHints.groups` and `inlayHints.results` turn one kind off.
 */

import {
    AstUtils, Cancellation, GrammarUtils, interruptAndCheck, type AstNode, type ConfigurationProvider, type LangiumDocument,
    type MaybePromise,
} from 'langium';
import { AbstractInlayHintProvider, type InlayHintAcceptor } from 'langium/lsp';
import { InlayHintKind, type InlayHint, type InlayHintParams } from 'vscode-languageserver';
import type { KernelState } from '../../engine/state.js';
import { isMachine, isMachineMdev, isStatement, type Machine, type Statement } from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import { isMachineDevice } from '../scoping/machine-devices.js';
import type { ScenarioSimulator } from '../simulation/scenario-simulator.js';
import { kernelDevice } from './kernel-devices.js';
import { resultSentence, shortResult, summarizeOutcomes } from './prediction-text.js';
import type { StatementRuns } from './statement-runs.js';

/** The client settings under `iommu.inlayHints`. */
export interface InlayHintSettings {
    /** All hints (default true). */
    readonly enabled?: boolean;
    /** `group N` after devices in machines (default true). */
    readonly groups?: boolean;
    /** `→ result` after calls (default true). */
    readonly results?: boolean;
}

/** One request: which kinds of hints it wants, and the machines booted for it. */
interface HintRequest {
    readonly groups: boolean;
    readonly results: boolean;
    readonly kernels: Map<Machine, KernelState>;
}

/** Statements that are not one call: their bodies' statements get the hints. */
const NOT_A_CALL = new Set(['ForStatement', 'RepeatStatement', 'CallStatement', 'CapsStatement']);

/** Group numbers in machines and predicted results after calls. */
export class IommuInlayHintProvider extends AbstractInlayHintProvider {
    protected readonly configuration: ConfigurationProvider;
    protected readonly languageId: string;
    protected readonly runs: StatementRuns;
    protected readonly simulator: ScenarioSimulator;

    constructor(services: IommuServices) {
        super();
        this.configuration = services.shared.workspace.ConfigurationProvider;
        this.languageId = services.LanguageMetaData.languageId;
        this.runs = services.lsp.StatementRuns;
        this.simulator = services.simulation.ScenarioSimulator;
    }

    override async getInlayHints(document: LangiumDocument, params: InlayHintParams, cancelToken = Cancellation.CancellationToken.None): Promise<InlayHint[] | undefined> {
        const settings = await this.settings();
        const request: HintRequest = {
            groups: settings.enabled !== false && settings.groups !== false,
            results: settings.enabled !== false && settings.results !== false,
            kernels: new Map(),
        };
        const hints: InlayHint[] = [];
        if (!request.groups && !request.results) {
            return hints;
        }
        const accept: InlayHintAcceptor = hint => hints.push(hint);
        for (const node of AstUtils.streamAst(document.parseResult.value, { range: params.range })) {
            await interruptAndCheck(cancelToken);
            this.computeHint(node, accept, request);
        }
        return hints;
    }

    /** The client's `iommu.inlayHints` settings (all on when the client sends none). */
    protected async settings(): Promise<InlayHintSettings> {
        const value: unknown = await this.configuration.getConfiguration(this.languageId, 'inlayHints');
        return typeof value === 'object' && value !== null ? value as InlayHintSettings : {};
    }

    computeInlayHint(node: AstNode, accept: InlayHintAcceptor): MaybePromise<void> {
        this.computeHint(node, accept, { groups: true, results: true, kernels: new Map() });
    }

    /** The hints of one node, of the kinds the request wants. */
    protected computeHint(node: AstNode, accept: InlayHintAcceptor, request: HintRequest): void {
        if (request.groups && (isMachineDevice(node) || isMachineMdev(node))) {
            this.groupHint(node, accept, request);
        } else if (request.results && isStatement(node) && !NOT_A_CALL.has(node.$type)) {
            this.resultHint(node as AstNode & Statement, accept);
        }
    }

    /** `group 2` after a device's name (or its address when it has none), as the machine boots. */
    protected groupHint(device: AstNode, accept: InlayHintAcceptor, request: HintRequest): void {
        const machine = AstUtils.getContainerOfType(device, isMachine);
        const anchor = GrammarUtils.findNodeForProperty(device.$cstNode, 'name') ?? GrammarUtils.findNodeForProperty(device.$cstNode, 'bdf');
        if (!machine || !anchor) {
            return;
        }
        const kernel = this.kernelOf(machine, request);
        const d = kernelDevice(kernel, device);
        if (d?.group === undefined) {
            return;
        }
        accept({
            position: anchor.range.end,
            label: `group ${d.group}`,
            kind: InlayHintKind.Type,
            paddingLeft: true,
            tooltip: `IOMMU group ${d.group}: ${kernel.groups.get(d.group)?.devices.join(', ') ?? ''}`,
        });
    }

    /** `→ ok fd=4` at the end of a call, from its runs. */
    protected resultHint(statement: AstNode & Statement, accept: InlayHintAcceptor): void {
        const end = statement.$cstNode?.range.end;
        const runs = end ? this.runs.runsOf(statement) : [];
        if (!end || runs.length === 0) {
            return;
        }
        let label: string;
        let tooltip: string;
        if (runs.length === 1) {
            const { step, result } = runs[0]!;
            label = shortResult(step, result);
            tooltip = resultSentence(result);
        } else {
            const shorts = new Set(runs.map(r => shortResult(r.step, r.result)));
            label = shorts.size === 1 ? `${[...shorts][0]} ×${runs.length}` : summarizeOutcomes(runs.map(r => r.result));
            tooltip = `${runs.length} runs: ${summarizeOutcomes(runs.map(r => r.result))}`;
        }
        accept({ position: end, label: `→ ${label}`, paddingLeft: true, tooltip });
    }

    /** The booted kernel of a machine, once per request. */
    protected kernelOf(machine: Machine, request: HintRequest): KernelState {
        let kernel = request.kernels.get(machine);
        if (!kernel) {
            kernel = this.simulator.boot(machine).kernel;
            request.kernels.set(machine, kernel);
        }
        return kernel;
    }
}
