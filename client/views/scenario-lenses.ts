/**
 * The "Run | Debug" code lenses above each scenario, from an `iommu/scenarios` result. The
 * client provides them (not the language server): they run client-side commands, and one
 * provider keeps them from appearing twice.
 */

import type { Range, ScenariosResult } from '../../language/protocol/messages.js';

export const RUN_COMMAND = 'iommu.runScenario';
export const DEBUG_COMMAND = 'iommu.debugScenario';

export interface LensSpec {
    /** The scenario's first line (where the lens sits). */
    readonly range: Range;
    readonly title: string;
    readonly tooltip: string;
    readonly command: string;
    /** `[uri, scenario name]`. */
    readonly args: readonly [string, string];
}

export function scenarioLenses(uri: string, result: ScenariosResult): LensSpec[] {
    return result.scenarios.flatMap((s) => {
        const line = { start: s.range.start, end: s.range.start };
        const expects = s.expects.length === 0 ? '' : ` and check its ${s.expects.length} expect${s.expects.length === 1 ? '' : 's'}`;
        return [
            { range: line, title: '$(play) Run', tooltip: `Run scenario ${s.name} on ${s.machine}${expects}`, command: RUN_COMMAND, args: [uri, s.name] as const },
            { range: line, title: '$(debug-alt) Debug', tooltip: `Debug scenario ${s.name} step by step`, command: DEBUG_COMMAND, args: [uri, s.name] as const },
        ];
    });
}

/** Whether a code lens from the language server duplicates ours (and is dropped by the client's middleware). */
export function isServerRunDebugLens(title: string | undefined, command: string | undefined): boolean {
    return command === RUN_COMMAND || command === DEBUG_COMMAND || /^(\$\([\w-]+\)\s*)?(Run|Debug)\b/.test(title ?? '');
}
