/**
 * Reports what lowering finds (loops too large, non-constant bounds, recursive calls, values of
 * the wrong kind) on each scenario. The lowered program is cached by {@link ScenarioLowering}
 * for whoever runs it next.
 */

import type { ValidationAcceptor } from 'langium';
import type { Scenario } from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import type { ScenarioLowering } from '../lowering/scenario-lowering.js';

/** Validates scenarios by lowering them. */
export class LoweringValidator {
    protected readonly lowering: ScenarioLowering;

    constructor(services: IommuServices) {
        this.lowering = services.lowering.ScenarioLowering;
    }

    checkScenario(scenario: Scenario, accept: ValidationAcceptor): void {
        for (const diagnostic of this.lowering.scenario(scenario).diagnostics) {
            accept(diagnostic.severity, diagnostic.message, {
                node: diagnostic.node,
                property: diagnostic.property,
                code: diagnostic.code,
                data: { code: diagnostic.code },
            });
        }
    }
}
