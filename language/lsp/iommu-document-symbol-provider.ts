/**
 * The outline: machines with their IOMMU units, PCI segments and the PCI tree below them,
 * platform devices and mdevs; scenarios with their processes (each block, with the variables it
 * binds) and procedures.
 */

import { AstUtils, GrammarUtils, type AstNode, type CstNode, type LangiumDocument } from 'langium';
import type { DocumentSymbolProvider } from 'langium/lsp';
import { SymbolKind, type DocumentSymbol } from 'vscode-languageserver';
import {
    isDownstreamPort, isEndpoint, isForStatement, isPciBridge, isPciSwitch, isRootPort,
    type IommuFile, type Machine, type PciNode, type PciSegment, type Procedure, type ProcessBlock, type Scenario,
    type Statement, type DownstreamPort,
} from '../generated/ast.js';
import { ownBinding } from '../scoping/bindings.js';

/** Machines, scenarios and what they contain, as a tree of symbols. */
export class IommuDocumentSymbolProvider implements DocumentSymbolProvider {
    getSymbols(document: LangiumDocument): DocumentSymbol[] {
        const root = document.parseResult.value as IommuFile;
        const symbols = [
            ...root.machines.map(m => this.machineSymbol(m)),
            ...root.scenarios.map(s => this.scenarioSymbol(s)),
        ];
        return symbols.filter((s): s is DocumentSymbol => s !== undefined)
            .sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
    }

    protected machineSymbol(machine: Machine): DocumentSymbol | undefined {
        const children = [
            ...machine.iommus.map(u => this.symbol(u, u.name, SymbolKind.Interface, `iommu ${u.kind}`)),
            ...machine.segments.map(s => this.segmentSymbol(s)),
            ...machine.platforms.map(p => this.symbol(p, p.name, SymbolKind.Object, 'platform device')),
            ...machine.mdevs.map(m => this.symbol(m, m.name, SymbolKind.Object, `mdev ${m.kind}, parent ${m.parent.$refText}`)),
        ];
        return this.symbol(machine, machine.name, SymbolKind.Module, 'machine', children);
    }

    protected segmentSymbol(segment: PciSegment): DocumentSymbol | undefined {
        const number = GrammarUtils.findNodeForProperty(segment.$cstNode, 'segment');
        const name = `pci ${number?.text ?? ''}`.trim();
        const detail = segment.iommu ? `iommu ${segment.iommu.$refText}` : 'no IOMMU';
        return this.symbol(segment, name, SymbolKind.Namespace, detail, segment.children.map(c => this.pciSymbol(c)), number);
    }

    protected pciSymbol(node: PciNode | DownstreamPort): DocumentSymbol | undefined {
        const kind = isEndpoint(node) ? SymbolKind.Object : SymbolKind.Struct;
        const word = isEndpoint(node) ? 'endpoint' : isRootPort(node) ? 'root-port' : isPciSwitch(node) ? 'switch'
            : isDownstreamPort(node) ? 'downstream' : 'pci-bridge';
        const children = isPciSwitch(node) ? node.ports : isRootPort(node) || isDownstreamPort(node) || isPciBridge(node) ? node.children : [];
        const selection = GrammarUtils.findNodeForProperty(node.$cstNode, node.name !== undefined ? 'name' : 'bdf');
        const detail = `${word} ${node.bdf}${isEndpoint(node) && node.driver ? `, ${node.driver}` : ''}`;
        return this.symbol(node, node.name ?? node.bdf, kind, detail, children.map(c => this.pciSymbol(c)), selection);
    }

    protected scenarioSymbol(scenario: Scenario): DocumentSymbol | undefined {
        const children = [
            ...scenario.processes.map(p => this.processSymbol(p)),
            ...scenario.procedures.map(p => this.procedureSymbol(p)),
        ].sort((a, b) => (a && b ? a.range.start.line - b.range.start.line : 0));
        return this.symbol(scenario, scenario.name, SymbolKind.Class, `on ${scenario.machine.$refText}`, children);
    }

    protected processSymbol(block: ProcessBlock): DocumentSymbol | undefined {
        return this.symbol(block, block.name, SymbolKind.Function, 'process', this.bindingSymbols(block.body));
    }

    protected procedureSymbol(procedure: Procedure): DocumentSymbol | undefined {
        const params = procedure.params.map(p => this.symbol(p, p.name, SymbolKind.Variable, 'parameter'));
        return this.symbol(procedure, procedure.name, SymbolKind.Method, `procedure(${procedure.params.map(p => p.name).join(', ')})`,
            [...params, ...this.bindingSymbols(procedure.body)]);
    }

    /** The variables statements bind (in loop bodies too), in source order. */
    protected bindingSymbols(body: readonly Statement[]): Array<DocumentSymbol | undefined> {
        const out: Array<DocumentSymbol | undefined> = [];
        for (const statement of body) {
            for (const node of AstUtils.streamAst(statement)) {
                const binding = ownBinding(node);
                if (binding) {
                    out.push(this.symbol(binding, binding.name, SymbolKind.Variable, binding.$type.replace(/Statement$/, '').toLowerCase()));
                } else if (isForStatement(node)) {
                    out.push(this.symbol(node, node.name, SymbolKind.Variable, 'loop variable'));
                }
            }
        }
        return out;
    }

    /** A symbol for a node with text; its name's node is the selection (or `selection`). */
    protected symbol(node: AstNode, name: string, kind: SymbolKind, detail: string, children: ReadonlyArray<DocumentSymbol | undefined> = [], selection?: CstNode): DocumentSymbol | undefined {
        const cst = node.$cstNode;
        if (!cst || name === '') {
            return undefined;
        }
        const nameNode = selection ?? GrammarUtils.findNodeForProperty(cst, 'name') ?? cst;
        const kids = children.filter((c): c is DocumentSymbol => c !== undefined);
        return {
            name, kind, detail, range: cst.range, selectionRange: nameNode.range,
            ...(kids.length > 0 ? { children: kids } : {}),
        };
    }
}
