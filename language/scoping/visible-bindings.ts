/**
 * Which bindings a name in a scenario can see. A binding is visible after it, within its
 * process:
 * - in the enclosing blocks, after the statement that binds it (loop and procedure bodies are
 *   scopes of their own; a loop variable is visible in its body, parameters in their procedure);
 * - across the earlier blocks of the same process (a later `process p { ... }` continues `p`);
 * - `send x to p as g` binds `g` in `p` after the `send` (sends written in process blocks);
 * - a `fork child` child sees what its parent saw at the `fork`.
 * A procedure body sees its parameters and its own bindings only: it is called from any process.
 *
 * Lookups are lazy (most recent binding first, stopping at the first match) and what a process
 * binds across blocks is indexed once per scenario, so linking stays linear in practice.
 */

import { AstUtils, type AstNode } from 'langium';
import {
    isForStatement, isForkStatement, isProcedure, isProcessBlock, isRepeatStatement, isScenario, isSendStatement,
    type Binding, type ForkStatement, type ProcessBlock, type Scenario, type Statement,
} from '../generated/ast.js';
import { offsetOf } from './ast-positions.js';
import { ownBinding } from './bindings.js';

/** Where a binding of some name lives, for "bound later" / "bound in another process" messages. */
export interface BindingSite {
    readonly binding: Binding;
    /** The process it binds in (undefined inside a procedure). */
    readonly process?: string;
    /** The procedure it belongs to, if any. */
    readonly procedure?: string;
}

/** What a process binds outside the block being read: top-level lets of its blocks, sends to it. */
interface ProcessIndex {
    /** In source order. */
    readonly entries: ReadonlyArray<{ readonly offset: number; readonly binding: Binding; readonly block: ProcessBlock }>;
    /** The `fork` statements that create this process, in source order. */
    readonly forks: readonly ForkStatement[];
}

/** One body (process block, loop, procedure): each statement's position and, per name, the positions that bind it. */
interface BodyIndex {
    readonly positions: ReadonlyMap<AstNode, number>;
    readonly byName: ReadonlyMap<string, readonly number[]>;
}

/** Computes the bindings visible at a point of a scenario. */
export class VisibleBindings {
    protected readonly indexes = new WeakMap<Scenario, ReadonlyMap<string, ProcessIndex>>();
    /** Per body array, built once: linking a long block stays O(log n) per name. */
    protected readonly bodies = new WeakMap<readonly Statement[], BodyIndex>();
    /** Per process index: its entries grouped by name (offsets ascending). */
    protected readonly entriesByName = new WeakMap<ProcessIndex, ReadonlyMap<string, ProcessIndex['entries']>>();

    /**
     * The binding `name` means at `node`: the most recent visible one, or undefined. The same
     * order as {@link at} (nearest earlier statement of the innermost body first, then the loop
     * variable, then outer bodies, then the process's other blocks and its fork), found by binary
     * search in per-body indexes instead of walking every earlier statement.
     */
    find(node: AstNode, name: string): Binding | undefined {
        return this.findFrom(node, name, new Set());
    }

    protected findFrom(node: AstNode, name: string, visited: Set<string>): Binding | undefined {
        let child: AstNode = node;
        for (let parent = node.$container; parent; child = parent, parent = parent.$container) {
            if (!(isForStatement(parent) || isRepeatStatement(parent) || isProcessBlock(parent) || isProcedure(parent))) {
                continue;
            }
            const body: readonly Statement[] = parent.body;
            const index = this.bodyIndex(body);
            const position = index.positions.get(child);
            if (position === undefined) {
                continue; // a loop bound or a process attribute: the body's names are not visible there
            }
            const at = index.byName.get(name);
            if (at) {
                const i = lowerBound(at, position) - 1;
                if (i >= 0) {
                    return ownBinding(body[at[i]!]!);
                }
            }
            if (isForStatement(parent)) {
                if (parent.name === name) {
                    return parent;
                }
            } else if (isProcedure(parent)) {
                return parent.params.find((p) => p.name === name);
            } else if (isProcessBlock(parent)) {
                return this.findInProcess(parent, offsetOf(node), name, visited);
            }
        }
        return undefined;
    }

    /** {@link processBindings}, for one name. */
    protected findInProcess(current: ProcessBlock, offset: number, name: string, visited: Set<string>): Binding | undefined {
        const index = this.indexOf(current.$container).get(current.name);
        if (!index) {
            return undefined;
        }
        const entries = this.namedEntries(index).get(name) ?? [];
        for (let i = upperBound(entries, offset) - 1; i >= 0; i--) {
            if (entries[i]!.block !== current) {
                return entries[i]!.binding;
            }
        }
        const fork = index.forks.filter(f => offsetOf(f) < offset).at(-1);
        if (fork && !visited.has(current.name)) {
            visited.add(current.name);
            return this.findFrom(fork, name, visited);
        }
        return undefined;
    }

    protected bodyIndex(body: readonly Statement[]): BodyIndex {
        let index = this.bodies.get(body);
        if (!index) {
            const positions = new Map<AstNode, number>();
            const byName = new Map<string, number[]>();
            body.forEach((statement, i) => {
                positions.set(statement, i);
                const binding = ownBinding(statement);
                if (binding) {
                    const list = byName.get(binding.name);
                    if (list) {
                        list.push(i);
                    } else {
                        byName.set(binding.name, [i]);
                    }
                }
            });
            index = { positions, byName };
            this.bodies.set(body, index);
        }
        return index;
    }

    protected namedEntries(index: ProcessIndex): ReadonlyMap<string, ProcessIndex['entries']> {
        let named = this.entriesByName.get(index);
        if (!named) {
            const m = new Map<string, Array<ProcessIndex['entries'][number]>>();
            for (const e of index.entries) {
                const n = e.binding.name;
                if (n === undefined) {
                    continue;
                }
                const list = m.get(n);
                if (list) {
                    list.push(e);
                } else {
                    m.set(n, [e]);
                }
            }
            named = m;
            this.entriesByName.set(index, named);
        }
        return named;
    }

    /** Bindings visible at `node`, most recent first (so a later `let` shadows an earlier one). */
    at(node: AstNode): Binding[] {
        return [...this.visible(node, new Set())];
    }

    /** The process a node of a process block runs in, or undefined (procedures, machines). */
    processOf(node: AstNode): string | undefined {
        return AstUtils.getContainerOfType(node, isProcessBlock)?.name;
    }

    /** Every binding of `name` in the scenario, with its process or procedure. */
    sitesNamed(scenario: Scenario, name: string): BindingSite[] {
        const sites: BindingSite[] = [];
        for (const node of AstUtils.streamAst(scenario)) {
            if (isSendStatement(node) && node.name === name) {
                sites.push({ binding: node, process: node.receiver.$refText });
            } else if ((isForStatement(node) || ownBinding(node)) && (node as Binding).name === name) {
                const procedure = AstUtils.getContainerOfType(node, isProcedure);
                sites.push({ binding: node as Binding, process: this.processOf(node), procedure: procedure?.name });
            } else if (isProcedure(node)) {
                for (const param of node.params) {
                    if (param.name === name) {
                        sites.push({ binding: param, procedure: node.name });
                    }
                }
            }
        }
        return sites;
    }

    /** Visible bindings, most recent first, computed as they are consumed. */
    protected *visible(node: AstNode, visited: Set<string>): Generator<Binding> {
        let child: AstNode = node;
        for (let parent = node.$container; parent; child = parent, parent = parent.$container) {
            if (!(isForStatement(parent) || isRepeatStatement(parent) || isProcessBlock(parent) || isProcedure(parent))) {
                continue;
            }
            const body: readonly Statement[] = parent.body;
            const index = body.indexOf(child as Statement);
            if (index < 0) {
                continue; // a loop bound or a process attribute: the body's names are not visible there
            }
            for (let i = index - 1; i >= 0; i--) {
                const binding = ownBinding(body[i]!);
                if (binding) {
                    yield binding;
                }
            }
            if (isForStatement(parent)) {
                yield parent;
            } else if (isProcedure(parent)) {
                yield* parent.params;
                return;
            } else if (isProcessBlock(parent)) {
                yield* this.processBindings(parent, offsetOf(node), visited);
                return;
            }
        }
    }

    /**
     * What a process has bound outside `current` before `offset`: its earlier blocks, sends to it,
     * and (for a forked child) what its parent saw at the fork.
     */
    protected *processBindings(current: ProcessBlock, offset: number, visited: Set<string>): Generator<Binding> {
        const index = this.indexOf(current.$container).get(current.name);
        if (!index) {
            return;
        }
        for (let i = upperBound(index.entries, offset) - 1; i >= 0; i--) {
            const entry = index.entries[i]!;
            if (entry.block !== current) {
                yield entry.binding;
            }
        }
        const fork = index.forks.filter(f => offsetOf(f) < offset).at(-1);
        if (fork && !visited.has(current.name)) {
            visited.add(current.name);
            yield* this.visible(fork, visited);
        }
    }

    /** Per process: its top-level bindings, the sends to it and its forks, indexed once. */
    protected indexOf(scenario: Scenario): ReadonlyMap<string, ProcessIndex> {
        let index = this.indexes.get(scenario);
        if (!index) {
            index = buildIndex(scenario);
            this.indexes.set(scenario, index);
        }
        return index;
    }
}

function buildIndex(scenario: Scenario): ReadonlyMap<string, ProcessIndex> {
    const index = new Map<string, { entries: Array<ProcessIndex['entries'][number]>; forks: ForkStatement[] }>();
    const of = (process: string) => {
        let found = index.get(process);
        if (!found) {
            found = { entries: [], forks: [] };
            index.set(process, found);
        }
        return found;
    };
    for (const block of scenario.processes) {
        for (const statement of block.body) {
            const binding = ownBinding(statement);
            if (binding) {
                of(block.name).entries.push({ offset: offsetOf(statement), binding, block });
            }
        }
        for (const node of AstUtils.streamAst(block)) {
            if (isSendStatement(node) && node.receiver.$refText !== block.name) {
                of(node.receiver.$refText).entries.push({ offset: offsetOf(node), binding: node, block });
            } else if (isForkStatement(node)) {
                of(node.name).forks.push(node);
            }
        }
    }
    for (const facts of index.values()) {
        facts.entries.sort((a, b) => a.offset - b.offset);
    }
    return index;
}

/** The number of positions below `position` (positions ascending). */
function lowerBound(positions: readonly number[], position: number): number {
    let low = 0;
    let high = positions.length;
    while (low < high) {
        const middle = (low + high) >> 1;
        if (positions[middle]! < position) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return low;
}

/** The number of entries whose offset is below `offset` (entries sorted by offset). */
function upperBound(entries: ProcessIndex['entries'], offset: number): number {
    let low = 0;
    let high = entries.length;
    while (low < high) {
        const middle = (low + high) >> 1;
        if (entries[middle]!.offset < offset) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return low;
}

/** The scenario a node belongs to. */
export function scenarioOf(node: AstNode): Scenario | undefined {
    return AstUtils.getContainerOfType(node, isScenario);
}
