/**
 * What F5 runs: a launch configuration of the `iommu` debugger completed from the active editor,
 * so that a `.iommu` file debugs without a launch.json.
 */

/** The fields of a launch configuration this module reads or fills. */
export interface LaunchConfig {
    readonly type?: string;
    readonly request?: string;
    readonly name?: string;
    readonly program?: string;
    readonly scenario?: string;
    readonly stopOnEntry?: boolean;
    readonly [key: string]: unknown;
}

/**
 * The configuration to launch, or `'no-file'` when it needs a `.iommu` file and none is active.
 * `activeProgram` is the active `.iommu` editor's path (undefined: none).
 */
export function completeLaunch(config: LaunchConfig, activeProgram: string | undefined): LaunchConfig | 'no-file' {
    if (!config.type && !config.request && !config.name) {
        // F5 without a launch.json: debug the active file's first scenario
        return activeProgram === undefined
            ? 'no-file'
            : { type: 'iommu', request: 'launch', name: 'Debug IOMMU scenario', program: activeProgram, stopOnEntry: true };
    }
    if (!config.program) {
        return activeProgram === undefined ? 'no-file' : { ...config, program: activeProgram };
    }
    return config;
}
