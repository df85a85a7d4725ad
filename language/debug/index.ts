/**
 * The `iommu` debugger: the session class (run inline by the extension) and the stdio entry (the
 * spawned adapter, `iommu-scenarios dap`). Everything below is protocol-free and reusable.
 */

export { ScenarioDebugSession, type IommuLaunchArguments } from './scenario-session.js';
export { runDebugAdapterStdio } from './stdio.js';
export { loadProgram, loadScenarioProgram, ProgramLoadError, type LoadedProgram, type LoadedScenario, type LoadProblem } from './program-loader.js';
