/** Lowers a whole `.iommu` document: every machine and every scenario in it. */

import type { LangiumDocument } from 'langium';
import type { MachineSpec } from '../../engine/machine/spec.js';
import type { Machine, IommuFile, Scenario } from '../generated/ast.js';
import { lowerMachine } from './lower-machine.js';
import { lowerScenario, type LoweringOptions, type ScenarioLoweringResult } from './lower-scenario.js';

/** A lowered machine and the block it came from. */
export interface LoweredMachine {
    readonly node: Machine;
    readonly spec: MachineSpec;
}

/** A lowered scenario and the block it came from. */
export interface LoweredScenario extends ScenarioLoweringResult {
    readonly node: Scenario;
}

/** Every machine and scenario of a document, lowered. */
export interface LoweredDocument {
    readonly machines: readonly LoweredMachine[];
    readonly scenarios: readonly LoweredScenario[];
}

/** Lowers every machine and scenario of a linked document (or of its root node). */
export function lowerDocument(document: LangiumDocument<IommuFile> | IommuFile, options: LoweringOptions = {}): LoweredDocument {
    const root = 'parseResult' in document ? document.parseResult.value : document;
    return {
        machines: root.machines.map(node => ({ node, spec: lowerMachine(node) })),
        scenarios: root.scenarios.map(node => ({ node, ...lowerScenario(node, options) })),
    };
}
