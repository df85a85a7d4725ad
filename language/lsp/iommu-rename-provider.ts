/**
 * Rename for devices, variables (`let` slots, loop variables, parameters, `send ... as` names),
 * procedures, machines (across files) and processes (every block of the process, its `fork`,
 * and the `send ... to` naming it). A name the language would not read back as the same kind of
 * name is refused with an error the editor shows: not an identifier, a keyword, a name that
 * would collide in the same machine or scope, or something with no text of its own (a virtual
 * function `pf.vfN`, a kernel constant). Keywords come from the grammar: a variable may be named
 * by one of the keywords the `Name` rule admits (`id`, `iova`...), a device may not.
 */

import { AstUtils, CstUtils, GrammarAST, GrammarUtils, type AstNode, type LangiumDocument, type NameProvider, type References } from 'langium';
import { DefaultRenameProvider } from 'langium/lsp';
import {
    ErrorCodes, ResponseError, TextEdit, type CancellationToken, type Range, type RenameParams, type TextDocumentPositionParams,
    type WorkspaceEdit,
} from 'vscode-languageserver';
import {
    isForkStatement, isIommuUnit, isKernelConstant, isMachine, isProcedure, isProcessBlock, isScenario, isSendStatement,
    isVirtualFunction, type Scenario,
} from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import { isDeviceNode, type MachineDevices } from '../scoping/machine-devices.js';
import { processDeclarations } from '../scoping/processes.js';

/** Identifiers as the grammar's `ID` terminal reads them (without the `.` of VF names). */
const IDENTIFIER = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Renames names the language declares, refusing names it would not accept. */
export class IommuRenameProvider extends DefaultRenameProvider {
    protected override readonly references: References;
    protected override readonly nameProvider: NameProvider;
    protected readonly machineDevices: MachineDevices;
    /** Every keyword of the grammar that is a word: the lexer never reads one as an `ID`. */
    protected readonly keywords: ReadonlySet<string>;
    /** The keywords the grammar's `Name` rule accepts as names (`id`, `pasid`, `iova`...). */
    protected readonly nameKeywords: ReadonlySet<string>;

    constructor(services: IommuServices) {
        super(services);
        this.references = services.references.References;
        this.nameProvider = services.references.NameProvider;
        this.machineDevices = services.references.MachineDevices;
        const grammar = services.Grammar;
        const words = (node: AstNode) => AstUtils.streamAllContents(node).filter(GrammarAST.isKeyword).map(k => k.value).filter(v => /^[a-z]/i.test(v));
        this.keywords = new Set(words(grammar));
        const nameRule = grammar.rules.find(r => r.name === 'Name');
        this.nameKeywords = new Set(nameRule ? words(nameRule) : []);
    }

    override async rename(document: LangiumDocument, params: RenameParams, cancelToken?: CancellationToken): Promise<WorkspaceEdit | undefined> {
        const target = this.targetAt(document, params);
        if (!target) {
            return undefined;
        }
        const problem = this.checkRenamable(target) ?? this.checkNewName(target, params.newName);
        if (problem) {
            throw new ResponseError(ErrorCodes.InvalidParams, problem);
        }
        if (isProcessBlock(target) || isForkStatement(target)) {
            return this.renameProcess(target, params.newName);
        }
        return super.rename(document, params, cancelToken);
    }

    override prepareRename(document: LangiumDocument, params: TextDocumentPositionParams, _cancelToken?: CancellationToken): Range | undefined {
        const target = this.targetAt(document, params);
        const problem = target && this.checkRenamable(target);
        if (problem) {
            throw new ResponseError(ErrorCodes.InvalidParams, problem);
        }
        return this.renameNodeRange(document, params.position);
    }

    /** The declaration the name at the position is, or refers to. */
    protected targetAt(document: LangiumDocument, params: TextDocumentPositionParams): AstNode | undefined {
        const root = document.parseResult.value.$cstNode;
        const offset = document.textDocument.offsetAt(params.position);
        const leaf = root && CstUtils.findDeclarationNodeAtOffset(root, offset, this.grammarConfig.nameRegexp);
        return leaf ? this.references.findDeclarations(leaf)[0] : undefined;
    }

    /** Why a declaration cannot be renamed, or undefined. */
    protected checkRenamable(target: AstNode): string | undefined {
        if (isKernelConstant(target)) {
            return `'${target.name}' is a kernel constant: its name is the kernel's`;
        }
        if (isVirtualFunction(target)) {
            return `'${target.name}' is a virtual function: it is named after its physical function (rename that)`;
        }
        if (!target.$cstNode || !this.nameProvider.getNameNode(target)) {
            return 'this name is not written in the text';
        }
        return undefined;
    }

    /** Why `name` cannot be the new name of `target`, or undefined. */
    protected checkNewName(target: AstNode, name: string): string | undefined {
        if (!IDENTIFIER.test(name)) {
            return `'${name}' is not a valid name: use letters, digits and '_', starting with a letter or '_'`;
        }
        if (this.keywords.has(name) && !(this.nameKeywords.has(name) && this.isNameRuleName(target))) {
            return `'${name}' is a keyword of the language`;
        }
        const current = this.nameProvider.getName(target);
        if (name === current) {
            return undefined;
        }
        const machine = AstUtils.getContainerOfType(target, isMachine);
        if (machine && (isDeviceNode(target) || isIommuUnit(target))) {
            const taken = [...this.machineDevices.devicesOf(machine), ...machine.mdevs, ...machine.iommus].some(n => n.name === name);
            if (taken) {
                return `'${name}' is already declared in machine '${machine.name}'`;
            }
        }
        if (isMachine(target)) {
            const file = target.$container;
            if (file.machines.some(m => m.name === name)) {
                return `a machine '${name}' already exists in this file`;
            }
        }
        if (isProcedure(target) && target.$container.procedures.some(p => p.name === name)) {
            return `a procedure '${name}' already exists in scenario '${target.$container.name}'`;
        }
        if ((isProcessBlock(target) || isForkStatement(target)) && this.processNames(AstUtils.getContainerOfType(target, isScenario)).has(name)) {
            return `a process '${name}' already exists in this scenario`;
        }
        return undefined;
    }

    /** Whether the declaration's name is read by the grammar's `Name` rule (which admits some keywords). */
    protected isNameRuleName(target: AstNode): boolean {
        const source = this.nameProvider.getNameNode(target)?.grammarSource;
        return GrammarAST.isRuleCall(source) && source.rule.ref?.name === 'Name';
    }

    /** Every block, fork and `send ... to` naming the process. */
    protected renameProcess(target: AstNode & { name: string }, newName: string): WorkspaceEdit | undefined {
        const scenario = AstUtils.getContainerOfType(target, isScenario);
        const document = scenario && AstUtils.getDocument(scenario);
        if (!scenario || !document) {
            return undefined;
        }
        const old = target.name;
        const edits: TextEdit[] = [];
        for (const node of AstUtils.streamAst(scenario)) {
            if ((isProcessBlock(node) || isForkStatement(node)) && node.name === old) {
                const nameNode = GrammarUtils.findNodeForProperty(node.$cstNode, 'name');
                if (nameNode) {
                    edits.push(TextEdit.replace(nameNode.range, newName));
                }
            } else if (isSendStatement(node) && node.receiver.$refText === old && node.receiver.$refNode) {
                edits.push(TextEdit.replace(node.receiver.$refNode.range, newName));
            }
        }
        return { changes: { [document.uri.toString()]: edits } };
    }

    protected processNames(scenario: Scenario | undefined): Set<string> {
        return new Set(scenario ? processDeclarations(scenario).map(p => p.name) : []);
    }
}
