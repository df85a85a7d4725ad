/**
 * Every custom message between the extension, the language server and the debug adapter: method
 * names and their parameter and result types, in one module that all three import (as
 * rust-analyzer's lsp_ext.ts). Documented in docs/protocol.md; test/protocol/messages-doc.test.ts
 * fails when the two drift.
 */

/** A 0-based LSP range, repeated here so the client need not import LSP types into views. */
export interface Range {
    readonly start: { readonly line: number; readonly character: number };
    readonly end: { readonly line: number; readonly character: number };
}

// ---------------------------------------------------------------------------------------------
// Initialization (client → server, in `initialize`'s `initializationOptions`)

/** What the VS Code client passes when it starts the server (from the `iommu.*` settings). */
export interface IommuInitializationOptions {
    /** The Linux version of machines that do not say `kernel X.Y` (`"6.12"`); null: the newest supported. */
    readonly kernelDefault: string | null;
    readonly inlayHints: boolean;
}

// ---------------------------------------------------------------------------------------------
// Language server requests (client → server)

/** `iommu/groups`: the derived IOMMU groups of the machines of a document (after boot). */
export const GroupsRequest = 'iommu/groups';
export interface GroupsParams {
    readonly uri: string;
    /** Restrict to one machine. */
    readonly machine?: string;
}
export interface GroupDevice {
    readonly name: string;
    /** `0000:02:00.0` for PCI. */
    readonly devName: string;
    readonly driver: string | null;
    /** PCI device type (`endpoint`, `root-port`...) or `platform`/`mdev`. */
    readonly type: string;
}
export interface GroupInfo {
    readonly id: number;
    readonly viable: boolean;
    /** Why not viable, in words. */
    readonly why?: string;
    readonly iommu?: string;
    readonly devices: readonly GroupDevice[];
}
export interface MachineGroups {
    readonly name: string;
    readonly range?: Range;
    readonly groups: readonly GroupInfo[];
}
export interface GroupsResult {
    readonly machines: readonly MachineGroups[];
}

/** `iommu/topology`: the PCI tree of each machine with group ids, for the topology webview. */
export const TopologyRequest = 'iommu/topology';
export type TopologyParams = GroupsParams;
export interface TopologyNode {
    readonly name: string;
    readonly devName: string;
    /** `endpoint`, `rc-endpoint`, `root-port`, `upstream-port`, `downstream-port`, `pcie-to-pci-bridge`, `pci-bridge`, `conventional`. */
    readonly type: string;
    readonly group: number | null;
    readonly driver: string | null;
    /** `acs`, `acs(sv rr)`, or null without an ACS capability. */
    readonly acs: string | null;
    readonly multifunction: boolean;
    readonly range?: Range;
    readonly children: readonly TopologyNode[];
}
export interface TopologySegment {
    readonly segment: number;
    readonly iommu?: string;
    readonly nodes: readonly TopologyNode[];
}
export interface MachineTopology {
    readonly name: string;
    readonly iommus: ReadonlyArray<{ readonly name: string; readonly kind: string; readonly features: readonly string[] }>;
    readonly segments: readonly TopologySegment[];
    /** Groups in id order, each with its colour index (stable: the group id). */
    readonly groups: readonly GroupInfo[];
}
export interface TopologyResult {
    readonly machines: readonly MachineTopology[];
}

/** `iommu/scenarios`: the scenarios of a document and their `expect`s, for code lenses and the Testing view. */
export const ScenariosRequest = 'iommu/scenarios';
export interface ScenariosParams {
    readonly uri: string;
}
export interface ExpectItem {
    /** Stable within the scenario: `line:character` of the statement. */
    readonly id: string;
    readonly label: string;
    readonly range: Range;
}
export interface ScenarioItem {
    readonly name: string;
    readonly machine: string;
    readonly range: Range;
    readonly expects: readonly ExpectItem[];
}
export interface ScenariosResult {
    readonly scenarios: readonly ScenarioItem[];
}

/** `iommu/runScenario`: run one scenario and report each step, for the Testing view and "Run". */
export const RunScenarioRequest = 'iommu/runScenario';
export interface RunScenarioParams {
    readonly uri: string;
    readonly scenario: string;
}
export interface RunStepItem {
    readonly range?: Range;
    readonly process: string;
    readonly op: string;
    /** `ok`, an errno name, `fault`, `blocked`, `not-run`, `invalid`. */
    readonly result: string;
    readonly matched: boolean;
    /** Why it did not match the expectation (or why it failed). */
    readonly message?: string;
    /** The expect item this step carries, if any. */
    readonly expectId?: string;
}
export interface RunScenarioResult {
    readonly scenario: string;
    readonly passed: boolean;
    readonly steps: readonly RunStepItem[];
    /** Problems outside steps (machine errors, a deadlock). */
    readonly problems: readonly string[];
}

/** `iommu/documentSimulated` (server → client notification): a document's scenarios were (re)run. */
export const DocumentSimulatedNotification = 'iommu/documentSimulated';
export interface DocumentSimulatedParams {
    readonly uri: string;
    readonly version?: number;
}

// ---------------------------------------------------------------------------------------------
// Debug adapter custom requests and events

/** `iommu/pageTables`: domains and their page tables at the current stop, as tree items. */
export const PageTablesDapRequest = 'iommu/pageTables';
/** `iommu/pasidTables`: per device, each PASID and what it points at; the global PASID space. */
export const PasidTablesDapRequest = 'iommu/pasidTables';
/** `iommu/groups` (DAP): the IOMMU groups at the current stop. */
export const GroupsDapRequest = 'iommu/groups';

/** A node of a debug view; `ref` > 0 expands with `iommu/children`. */
export interface ViewItem {
    readonly label: string;
    readonly description?: string;
    readonly tooltip?: string;
    readonly kind?: string;
    /** Children handle (0: none); valid until the next stop. */
    readonly ref: number;
    /** Number of children when known (for paging). */
    readonly childCount?: number;
}
export interface ViewRootResult {
    readonly items: readonly ViewItem[];
}

/** `iommu/children`: children of a view item, paged. */
export const ViewChildrenDapRequest = 'iommu/children';
export interface ViewChildrenArgs {
    readonly ref: number;
    readonly start?: number;
    readonly count?: number;
}
export type ViewChildrenResult = ViewRootResult;

/** `iommu/state` (DAP event): sent at every stop so views refresh. */
export const StateDapEvent = 'iommu/state';
export interface StateEventBody {
    readonly tick: number;
    readonly step?: number;
    readonly reason: string;
}
