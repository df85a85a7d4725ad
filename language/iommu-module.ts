/**
 * The language's services: Langium's defaults, the generated parser and AST, and what the
 * `.iommu` language adds (scoping, coded linking errors, validators, lowering to engine data,
 * and the editor features of `lsp/`, which read the engine's results).
 * Entry points (language server, CLI, tests) create them with {@link createIommuServices}.
 */

import { inject, type Module } from 'langium';
import {
    createDefaultModule, createDefaultSharedModule, type DefaultSharedModuleContext, type LangiumServices,
    type LangiumSharedServices, type PartialLangiumServices,
} from 'langium/lsp';
import { IommuScenarioGeneratedModule, IommuScenarioGeneratedSharedModule } from './generated/module.js';
import { IommuLinker } from './linking/iommu-linker.js';
import { UnresolvedNames } from './linking/unresolved-names.js';
import { ScenarioLowering } from './lowering/scenario-lowering.js';
import { IommuValueConverter } from './parser/iommu-value-converter.js';
import { IommuScopeComputation } from './scoping/iommu-scope-computation.js';
import { IommuScopeProvider } from './scoping/iommu-scope-provider.js';
import { KernelConstants } from './scoping/kernel-constants.js';
import { MachineDevices } from './scoping/machine-devices.js';
import { VisibleBindings } from './scoping/visible-bindings.js';
import { IommuDocumentValidator } from './validation/iommu-document-validator.js';
import { registerIommuValidators } from './validation/iommu-validators.js';
import { LoweringValidator } from './validation/lowering-validator.js';
import { MachineValidator } from './validation/machine-validator.js';
import { ScenarioValidator } from './validation/scenario-validator.js';
import { SimulationValidator } from './validation/simulation-validator.js';
import { ScenarioSimulator } from './simulation/scenario-simulator.js';
import { IommuCodeActionProvider } from './lsp/iommu-code-action-provider.js';
import { IommuCompletionProvider } from './lsp/iommu-completion-provider.js';
import { IommuDocumentSymbolProvider } from './lsp/iommu-document-symbol-provider.js';
import { IommuFoldingRangeProvider } from './lsp/iommu-folding-range-provider.js';
import { IommuFormatter } from './lsp/iommu-formatter.js';
import { IommuHoverProvider } from './lsp/iommu-hover-provider.js';
import { IommuInlayHintProvider } from './lsp/iommu-inlay-hint-provider.js';
import { IommuRenameProvider } from './lsp/iommu-rename-provider.js';
import { IommuSemanticTokenProvider } from './lsp/iommu-semantic-token-provider.js';
import { StatementRuns } from './lsp/statement-runs.js';

/** Services the language adds to Langium's. */
export type IommuAddedServices = {
    references: {
        MachineDevices: MachineDevices;
        VisibleBindings: VisibleBindings;
        KernelConstants: KernelConstants;
        UnresolvedNames: UnresolvedNames;
    };
    validation: {
        MachineValidator: MachineValidator;
        ScenarioValidator: ScenarioValidator;
        LoweringValidator: LoweringValidator;
        SimulationValidator: SimulationValidator;
    };
    lowering: {
        ScenarioLowering: ScenarioLowering;
    };
    simulation: {
        ScenarioSimulator: ScenarioSimulator;
    };
    lsp: {
        /** Where each statement ran in its scenario's simulation (for hovers, hints, code actions). */
        StatementRuns: StatementRuns;
    };
};

/** All services of the `.iommu` language. */
export type IommuServices = LangiumServices & IommuAddedServices;

/** The language's module: its added services and the defaults it overrides. */
export const IommuModule: Module<IommuServices, PartialLangiumServices & IommuAddedServices> = {
    parser: {
        ValueConverter: () => new IommuValueConverter(),
    },
    references: {
        ScopeComputation: (services) => new IommuScopeComputation(services),
        ScopeProvider: (services) => new IommuScopeProvider(services),
        Linker: (services) => new IommuLinker(services),
        MachineDevices: (services) => new MachineDevices(services),
        VisibleBindings: () => new VisibleBindings(),
        KernelConstants: () => new KernelConstants(),
        UnresolvedNames: (services) => new UnresolvedNames(services),
    },
    validation: {
        DocumentValidator: (services) => new IommuDocumentValidator(services),
        MachineValidator: () => new MachineValidator(),
        ScenarioValidator: () => new ScenarioValidator(),
        LoweringValidator: (services) => new LoweringValidator(services),
        SimulationValidator: (services) => new SimulationValidator(services),
    },
    lowering: {
        ScenarioLowering: (services) => new ScenarioLowering(services),
    },
    simulation: {
        ScenarioSimulator: (services) => new ScenarioSimulator(services),
    },
    lsp: {
        StatementRuns: (services) => new StatementRuns(services),
        HoverProvider: (services) => new IommuHoverProvider(services),
        InlayHintProvider: (services) => new IommuInlayHintProvider(services),
        CompletionProvider: (services) => new IommuCompletionProvider(services),
        RenameProvider: (services) => new IommuRenameProvider(services),
        DocumentSymbolProvider: () => new IommuDocumentSymbolProvider(),
        FoldingRangeProvider: (services) => new IommuFoldingRangeProvider(services),
        SemanticTokenProvider: (services) => new IommuSemanticTokenProvider(services),
        Formatter: () => new IommuFormatter(),
        CodeActionProvider: (services) => new IommuCodeActionProvider(services),
    },
};

/**
 * Creates the shared services and the `.iommu` language's services. `context` is
 * `{ connection?, ...NodeFileSystem }` in the server and CLI, `EmptyFileSystem` in tests.
 */
export function createIommuServices(context: DefaultSharedModuleContext): {
    shared: LangiumSharedServices;
    iommu: IommuServices;
} {
    const shared = inject(createDefaultSharedModule(context), IommuScenarioGeneratedSharedModule);
    const iommu = inject(createDefaultModule({ shared }), IommuScenarioGeneratedModule, IommuModule);
    shared.ServiceRegistry.register(iommu);
    registerIommuValidators(iommu);
    if (!context.connection) {
        // CLI and tests: nobody will send workspace/configuration, so unblock the provider now.
        shared.workspace.ConfigurationProvider.initialized({});
    }
    return { shared, iommu };
}
