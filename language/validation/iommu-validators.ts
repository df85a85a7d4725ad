/** Registers the language's validators with Langium's validation registry. */

import type { ValidationChecks } from 'langium';
import type { IommuScenarioAstType } from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';

/**
 * Registers the machine, scenario and lowering checks, and validation by simulation. All are
 * `fast` (the category the language server runs on every change).
 */
export function registerIommuValidators(services: IommuServices): void {
    const registry = services.validation.ValidationRegistry;
    const machine = services.validation.MachineValidator;
    const machineChecks: ValidationChecks<IommuScenarioAstType> = {
        Machine: machine.checkMachine,
        IommuUnit: machine.checkIommuUnit,
        Acs: machine.checkAcs,
        Endpoint: machine.checkEndpoint,
        PciSegment: machine.checkPciSegment,
        RootPort: machine.checkPort,
        PciSwitch: machine.checkPort,
        DownstreamPort: machine.checkPort,
        PciBridge: machine.checkPort,
        PlatformDevice: machine.checkPlatformDevice,
    };
    registry.register(machineChecks, machine, 'fast');

    const scenario = services.validation.ScenarioValidator;
    const scenarioChecks: ValidationChecks<IommuScenarioAstType> = {
        Scenario: scenario.checkScenario,
        Procedure: scenario.checkProcedure,
        IoctlStatement: scenario.checkIoctl,
        Expectation: scenario.checkExpectation,
        CallStatement: scenario.checkCall,
        NameRef: scenario.checkNameRef,
        ProcessBlock: scenario.checkCapabilities,
        CapsStatement: scenario.checkCapabilities,
    };
    registry.register(scenarioChecks, scenario, 'fast');

    const lowering = services.validation.LoweringValidator;
    registry.register<IommuScenarioAstType>({ Scenario: lowering.checkScenario }, lowering, 'fast');

    // Validation by simulation: the engine runs each scenario and boots each machine. 'fast' so
    // the server runs it on every change; it is incremental and cancellable.
    const simulation = services.validation.SimulationValidator;
    registry.register<IommuScenarioAstType>({ Scenario: simulation.checkScenario, Machine: simulation.checkMachine }, simulation, 'fast');
}
