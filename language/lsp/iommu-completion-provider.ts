/**
 * Completion for `.iommu` files, on top of Langium's grammar-driven completion (keywords and
 * cross-references: devices, variables, procedures, machines after `on`):
 * - in a process or procedure body: statement keywords, snippets of common statements, and the
 *   ioctls that make sense on the fds in scope (a call is written with the fd already filled in);
 *   on the name of a call whose fd is written, the ioctls of that fd's kind;
 * - inside an ioctl call: the fd variables of a kind the ioctl takes; the struct's field names
 *   (with type and doc); the constants of the field or positional argument (short names, with
 *   value and doc); variables; device names where the kernel takes a device name;
 * - `expect ok { ... }`: the statement's out-values; `expect`: errno names;
 * - `bind DEV `: driver names; in machines: IOMMU kinds, features, modes, ACS flags, resets.
 * The kind of an fd is read from its `let` statement (see {@link fileKindOfBinding}).
 */

import {
    AstUtils, CstUtils, GrammarAST, type AstNode, type AstNodeDescription, type LangiumDocument, type MaybePromise,
    type ReferenceInfo,
} from 'langium';
import {
    DefaultCompletionProvider, type CompletionAcceptor, type CompletionContext, type CompletionProviderOptions,
    type CompletionValueItem, type NextFeature,
} from 'langium/lsp';
import {
    CompletionItemKind, CompletionList, InsertTextFormat, type CancellationToken, type CompletionItem, type CompletionParams,
    type Range,
} from 'vscode-languageserver';
import { allErrnoNames, errnoNumber, parseErrno } from '../../engine/errno.js';
import { driverInfo, knownDriverNames } from '../../engine/machine/drivers.js';
import { ACS_FLAGS, IOMMU_FEATURES, NEWEST_KERNEL, formatKernelVersion, type KernelVersion } from '../../engine/machine/spec.js';
import type { FileKind } from '../../engine/state.js';
import { hex } from '../../engine/u64.js';
import {
    allIoctls, availableIn, constantSetFor, findIoctl, ioctlsForFile, shortName, writableFields, type ConstantSet,
    type IoctlDef,
} from '../../engine/uapi/index.js';
import {
    isForStatement, isIoctlStatement, isIommuUnit, isMachine, isMemfdStatement, isMmapStatement, isNameRef, isOpenStatement,
    isParameter, isProcedure, isProcessBlock, isRepeatStatement, isScenario, isSendStatement,
    isSvaBindStatement, type Binding, type Statement,
} from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import type { ScenarioLowering } from '../lowering/scenario-lowering.js';
import { IOMMU_KINDS, IOMMU_MODES, RESET_METHODS } from '../lowering/machine-vocabulary.js';
import { ownBinding } from '../scoping/bindings.js';
import type { IommuScopeProvider } from '../scoping/iommu-scope-provider.js';
import { isDeviceNode } from '../scoping/machine-devices.js';
import type { VisibleBindings } from '../scoping/visible-bindings.js';
import { outValuesOf } from '../uapi/out-values.js';
import { takesDeviceName } from '../uapi/uapi-context.js';
import { ERRNO_DESCRIPTIONS } from './errno-descriptions.js';
import { describeFileKind, fileKindOfBinding } from './file-kinds.js';

/** Datatype rules whose keywords are parts of names (`pci` of `pci-stub`, `ats` of features). */
const NAME_PART_RULES = new Set(['DriverWord', 'FeatureWord']);

/** Snippets of common statements, offered where a statement starts. */
const STATEMENT_SNIPPETS: ReadonlyArray<{ label: string; detail: string; body: string }> = [
    { label: 'open', detail: ' "/dev/vfio/vfio" (container)', body: 'let ${1:container} = open "/dev/vfio/vfio"' },
    { label: 'open', detail: ' vfio-group(DEV)', body: 'let ${1:group} = open vfio-group(${2:dev})' },
    { label: 'open', detail: ' vfio-device(DEV)', body: 'let ${1:vdev} = open vfio-device(${2:dev})' },
    { label: 'open', detail: ' "/dev/iommu" (iommufd)', body: 'let ${1:iommufd} = open "/dev/iommu"' },
    { label: 'mmap', detail: ' SIZE', body: 'let ${1:ram} = mmap ${2:2M}' },
    { label: 'bind', detail: ' DEV vfio-pci (unbind first)', body: 'unbind ${1:dev}\nbind ${1:dev} vfio-pci' },
    { label: 'dma', detail: ' DEV write IOVA len N', body: 'dma ${1:dev} ${2|write,read|} ${3:0x0} len ${4:4K}' },
    { label: 'close', detail: '(FD)', body: 'close(${1:fd})' },
    { label: 'for', detail: ' VAR in A .. B { }', body: 'for ${1:i} in ${2:0} .. ${3:7} {\n\t$0\n}' },
    { label: 'repeat', detail: ' N { }', body: 'repeat ${1:2} {\n\t$0\n}' },
];

/** Where in an ioctl call (or an `expect ok { }`) the cursor is, read from the tokens before it. */
interface CallPosition {
    /** The ioctl, or undefined in an expectation of another statement. */
    readonly ioctl?: string;
    /** `arg`: in the call's parentheses; `expect`: in `expect ... { }`. */
    readonly where: 'arg' | 'expect';
    /** 0: the fd; 1...: the arguments after it. */
    readonly argIndex: number;
    /** The field whose value is being written (`flags: |`). */
    readonly field?: string;
    /** Fields already written in this call. */
    readonly used: ReadonlySet<string>;
}

/** Completion of names the grammar leaves to identifiers, and of ioctl calls. */
export class IommuCompletionProvider extends DefaultCompletionProvider {
    override readonly completionOptions: CompletionProviderOptions = { triggerCharacters: ['(', ',', '|'] };
    protected readonly bindings: VisibleBindings;
    protected readonly lowering: ScenarioLowering;

    constructor(services: IommuServices) {
        super(services);
        this.bindings = services.references.VisibleBindings;
        this.lowering = services.lowering.ScenarioLowering;
    }

    override async getCompletion(document: LangiumDocument, params: CompletionParams, cancelToken?: CancellationToken): Promise<CompletionList | undefined> {
        const offset = document.textDocument.offsetAt(params.position);
        const prefix = this.prefixAt(document, offset);
        const call = this.callPosition(document, prefix.start);
        if (call) {
            const range: Range = { start: document.textDocument.positionAt(prefix.start), end: params.position };
            const items = this.callItems(document, call, prefix.start)
                .filter(item => this.fuzzyMatcher.match(prefix.text, item.label))
                .map(item => ({ ...item, textEdit: { range, newText: item.insertText ?? item.label } }));
            return CompletionList.create(this.deduplicateItems(items), true);
        }
        return super.getCompletion(document, params, cancelToken);
    }

    protected override completionFor(context: CompletionContext, next: NextFeature, acceptor: CompletionAcceptor): MaybePromise<void> {
        const rule = AstUtils.getContainerOfType(next.feature, GrammarAST.isParserRule)?.name ?? '';
        const property = AstUtils.getContainerOfType(next.feature, GrammarAST.isAssignment)?.feature;
        if (GrammarAST.isKeyword(next.feature)) {
            if (NAME_PART_RULES.has(rule)) {
                return undefined;
            }
            if (next.feature.value === 'open' && rule === 'OpenStatement') {
                this.statementStart(context, acceptor);
            }
            return super.completionFor(context, next, acceptor);
        }
        if (rule === 'IoctlStatement' && property === 'ioctl') {
            return this.ioctlNames(context, acceptor);
        }
        if (rule === 'DriverWord') {
            return this.words(context, acceptor, this.driverNames(context.node), CompletionItemKind.Module, name => name === 'none' ? 'unbound' : driverInfo(name).doc);
        }
        if (rule === 'Expectation' && property === 'errno') {
            const errnos = allErrnoNames();
            return this.words(context, acceptor, errnos, CompletionItemKind.EnumMember, name => {
                const errno = parseErrno(name)!;
                return `errno ${errnoNumber(errno)}: ${ERRNO_DESCRIPTIONS[errno].text}`;
            });
        }
        if (rule === 'DashedName' && isIommuUnit(context.node) && !this.inUnitBody(context)) {
            return this.words(context, acceptor, IOMMU_KINDS, CompletionItemKind.EnumMember, () => 'IOMMU kind');
        }
        if (rule === 'FeatureWord') {
            return this.words(context, acceptor, IOMMU_FEATURES, CompletionItemKind.EnumMember, () => 'IOMMU feature');
        }
        if (rule === 'IommuUnit' && property === 'mode') {
            return this.words(context, acceptor, IOMMU_MODES, CompletionItemKind.EnumMember, () => 'VT-d translation mode');
        }
        if (rule === 'Acs' && property === 'flags') {
            return this.words(context, acceptor, ACS_FLAGS, CompletionItemKind.EnumMember, () => 'ACS control flag');
        }
        if (rule === 'Endpoint' && property === 'resets') {
            return this.words(context, acceptor, RESET_METHODS, CompletionItemKind.EnumMember, () => 'reset method');
        }
        return super.completionFor(context, next, acceptor);
    }

    /** Devices, variables and constants with what they are. */
    protected override createReferenceCompletionItem(description: AstNodeDescription, refInfo: ReferenceInfo, context: CompletionContext): CompletionValueItem {
        const item = super.createReferenceCompletionItem(description, refInfo, context);
        const node = description.node;
        const detail = node ? this.describeNode(node) : undefined;
        return detail ? { ...item, detail } : item;
    }

    // -----------------------------------------------------------------------------------------
    // Statements

    /** Snippets of whole statements, where one starts. */
    protected statementStart(context: CompletionContext, acceptor: CompletionAcceptor): void {
        for (const snippet of STATEMENT_SNIPPETS) {
            acceptor(context, {
                label: snippet.label,
                labelDetails: { detail: snippet.detail },
                detail: snippet.body.replace(/\$\{\d+(?::([^}]*))?\}/g, '$1').replace(/\$\{\d+\|([^,|]*)[^}]*\}/g, '$1').replace(/\$0/g, ''),
                kind: CompletionItemKind.Snippet,
                insertText: snippet.body,
                insertTextFormat: InsertTextFormat.Snippet,
                sortText: '3',
            });
        }
    }

    /**
     * Ioctl names: on the name of a call whose fd is written, those of its kind; where a statement
     * starts, those of the fds in scope, written with the fd (all of them when no fd is in scope).
     */
    protected ioctlNames(context: CompletionContext, acceptor: CompletionAcceptor): void {
        const version = this.kernelVersion(context.node);
        const text = context.textDocument.getText();
        const hasParen = /^\s*\(/.test(text.slice(context.tokenEndOffset));
        const statement = context.node && AstUtils.getContainerOfType(context.node, isIoctlStatement);
        if (hasParen && statement) {
            const fdKind = isNameRef(statement.fd) ? fileKindOfBinding(statement.fd.ref.ref) : undefined;
            const ioctls = fdKind ? ioctlsForFile(fdKind) : allIoctls();
            for (const def of ioctls.filter(d => availableIn(d, version))) {
                acceptor(context, this.ioctlItem(def, fdKind, def.name, false));
            }
            return;
        }
        const fds = this.fdsAt(context.document, context.offset);
        if (fds.length === 0) {
            for (const def of allIoctls().filter(d => availableIn(d, version))) {
                acceptor(context, this.ioctlItem(def, undefined, `${def.name}(\${1:fd})`, true));
            }
            return;
        }
        const seen = new Set<string>();
        for (const fd of fds) {
            for (const def of ioctlsForFile(fd.kind).filter(d => availableIn(d, version) && !seen.has(d.name))) {
                seen.add(def.name);
                const args = def.arg.kind === 'none' ? '' : ', $1';
                acceptor(context, this.ioctlItem(def, fd.kind, `${def.name}(${fd.name}${args})$0`, true, fd.name));
            }
        }
    }

    protected ioctlItem(def: IoctlDef, kind: FileKind | undefined, insertText: string, snippet: boolean, fd?: string): CompletionItem {
        const native = kind === undefined || def.fileKinds[0] === kind;
        const on = kind ? `${describeFileKind(kind)}${native ? '' : ', compat'}` : def.fileKinds.map(describeFileKind).join(' / ');
        return {
            label: def.name,
            kind: CompletionItemKind.Function,
            detail: fd ? `on ${fd} (${on})` : `on ${on}`,
            documentation: { kind: 'markdown', value: `${def.doc}\n\n${def.arg.kind === 'struct' ? `\`struct ${def.arg.struct.name}\` · ` : ''}since Linux ${formatKernelVersion(def.since)}` },
            insertText,
            insertTextFormat: snippet ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
            sortText: native ? '2' : '4',
        };
    }

    /** Driver names: `vfio-pci` first; in machines also `none`. */
    protected driverNames(node: AstNode | undefined): string[] {
        const names = knownDriverNames();
        return node && AstUtils.getContainerOfType(node, isMachine) ? [...names, 'none'] : names;
    }

    /** Plain words of a vocabulary. */
    protected words(context: CompletionContext, acceptor: CompletionAcceptor, words: readonly string[], kind: CompletionItemKind, detail: (word: string) => string): void {
        words.forEach((word, i) => acceptor(context, { label: word, kind, detail: detail(word), sortText: `0${String(i).padStart(3, '0')}` }));
    }

    /** Whether the context is inside the `{ }` of an IOMMU unit (not at its kind). */
    protected inUnitBody(context: CompletionContext): boolean {
        const unit = context.node;
        const brace = unit?.$cstNode?.text.indexOf('{') ?? -1;
        return unit?.$cstNode !== undefined && brace >= 0 && context.tokenOffset > unit.$cstNode.offset + brace;
    }

    // -----------------------------------------------------------------------------------------
    // Ioctl calls and expectations

    /** The identifier being typed before `offset`, and where it starts. */
    protected prefixAt(document: LangiumDocument, offset: number): { start: number; text: string } {
        const text = document.textDocument.getText();
        let start = offset;
        while (start > 0 && /[A-Za-z0-9_.]/.test(text.charAt(start - 1))) {
            start--;
        }
        return { start, text: text.slice(start, offset) };
    }

    /** Where in a call or an expectation `offset` is, from the tokens of its body before it. */
    protected callPosition(document: LangiumDocument, offset: number): CallPosition | undefined {
        const owner = this.bodyOwnerAt(document, offset);
        if (!owner?.$cstNode) {
            return undefined;
        }
        const base = owner.$cstNode.offset;
        const tokens = this.lexer.tokenize(document.textDocument.getText().slice(base, offset)).tokens;
        let depth = 0;
        let commas = 0;
        /** The tokens of the argument being written (up to the first comma found scanning back). */
        let current: string[] | undefined;
        const segment: string[] = [];
        const used = new Set<string>();
        for (let i = tokens.length - 1; i >= 0; i--) {
            const image = tokens[i]!.image;
            if (image === ')' || image === ']' || image === '}') {
                depth++;
                continue;
            }
            if (image === '(' || image === '[' || image === '{') {
                if (depth > 0) {
                    depth--;
                    continue;
                }
                const arg = current ?? segment;
                const field = arg.length >= 2 && (arg[1] === ':' || arg[1] === 'has') ? arg[0] : undefined;
                const before = tokens[i - 1];
                const keyword = tokens[i - 2]?.image;
                if (image === '(' && before?.tokenType.name === 'ID' && keyword !== 'call' && keyword !== 'procedure') {
                    return { ioctl: before.image, where: 'arg', argIndex: commas, field, used };
                }
                if (image === '{' && tokens[i - 2]?.image === 'expect') {
                    const statement = this.statementBefore(document, base + tokens[i]!.startOffset);
                    return { ioctl: isIoctlStatement(statement) ? statement.ioctl : undefined, where: 'expect', argIndex: commas, field, used };
                }
                return undefined;
            }
            if (depth > 0) {
                continue;
            }
            if (this.startsStatement(image)) {
                return undefined;
            }
            if (image === ',') {
                commas++;
                current ??= [...segment];
            } else {
                segment.unshift(image);
                const next = tokens[i + 1]?.image;
                if (next === ':' || next === 'has') {
                    used.add(image);
                }
            }
        }
        return undefined;
    }

    /** Keywords that only start statements: reaching one while scanning back ends the call. */
    protected startsStatement(image: string): boolean {
        return ['let', 'open', 'bind', 'unbind', 'dma', 'mmap', 'memfd', 'exit', 'fork', 'send', 'for', 'repeat', 'process', 'procedure',
            'guest-map', 'guest-unmap'].includes(image);
    }

    /** Items for a position in a call or an expectation. */
    protected callItems(document: LangiumDocument, call: CallPosition, offset: number): CompletionItem[] {
        const def = call.ioctl ? findIoctl(call.ioctl) : undefined;
        if (call.where === 'expect') {
            return call.field !== undefined ? this.constantItems(def && constantSetFor(def, call.field)) : this.outValueItems(document, offset, call);
        }
        if (call.argIndex === 0) {
            return this.fdItems(document, offset, def);
        }
        if (call.field !== undefined) {
            return [...this.constantItems(def && constantSetFor(def, call.field)), ...this.variableItems(document, offset)];
        }
        const items: CompletionItem[] = [];
        if (def?.arg.kind === 'struct') {
            const struct = def.arg.struct;
            const fields = [...writableFields(def)];
            if (struct.sizeField && !fields.some(f => f.name === struct.sizeField)) {
                fields.push({ name: struct.sizeField, type: 'u32', offset: 0, size: 4, dir: 'in', doc: 'size of the struct the kernel sees (set for ABI checks)' });
            }
            fields.filter(f => !call.used.has(f.name)).forEach((f, i) => items.push({
                label: f.name,
                kind: CompletionItemKind.Field,
                detail: `${f.type}${f.count ? `[${f.count}]` : ''} ${f.dir}${f.constants ? ` · ${f.constants}` : ''}`,
                documentation: f.doc,
                insertText: `${f.name}: `,
                sortText: `1${String(i).padStart(3, '0')}`,
            }));
        }
        if (def && takesDeviceName(def, undefined)) {
            items.push(...this.deviceItems(document, offset));
        } else if (def && (def.arg.kind === 'int' || def.arg.kind === 'int-ptr' || def.positionalField !== undefined)) {
            items.push(...this.constantItems(constantSetFor(def, def.positionalField)));
            items.push(...this.variableItems(document, offset));
        }
        return items;
    }

    /** Constants of a set by their short names, with value and doc. */
    protected constantItems(set: ConstantSet | undefined): CompletionItem[] {
        if (!set) {
            return [];
        }
        return set.constants.filter(c => !c.aliasOf && !c.isMask).map((c, i) => ({
            label: shortName(c, set) ?? c.name,
            kind: CompletionItemKind.EnumMember,
            detail: `${hex(c.value)} · ${c.name}`,
            documentation: c.doc,
            sortText: `0${String(i).padStart(3, '0')}`,
        }));
    }

    /** The out-values `expect ok { }` may check on the statement before `offset`. */
    protected outValueItems(document: LangiumDocument, offset: number, call: CallPosition): CompletionItem[] {
        const statement = this.statementBefore(document, offset);
        const names = statement ? outValuesOf(statement) ?? [] : [];
        const def = call.ioctl ? findIoctl(call.ioctl) : undefined;
        return names.filter(n => !call.used.has(n)).map((name, i) => {
            const field = def?.arg.kind === 'struct' ? def.arg.struct.fields.find(f => f.name === name) : undefined;
            return {
                label: name,
                kind: CompletionItemKind.Field,
                detail: field ? `${field.type} ${field.dir}` : 'out-value',
                documentation: field?.doc,
                insertText: `${name}: `,
                sortText: `0${String(i).padStart(3, '0')}`,
            };
        });
    }

    /** Variables holding fds of a kind the ioctl takes (and those of unknown kind) for its fd. */
    protected fdItems(document: LangiumDocument, offset: number, def: IoctlDef | undefined): CompletionItem[] {
        const items: CompletionItem[] = [];
        for (const binding of this.bindingsAt(document, offset)) {
            const kind = fileKindOfBinding(binding);
            const fits = kind === undefined ? !(isMmapStatement(binding) || isMemfdStatement(binding) || isSvaBindStatement(binding) || isIoctlStatement(binding))
                : def === undefined || def.fileKinds.includes(kind);
            if (fits) {
                items.push({
                    label: binding.name, kind: CompletionItemKind.Variable, detail: this.describeNode(binding),
                    sortText: kind ? '0' : '1',
                });
            }
        }
        return items;
    }

    /** Visible variables, most recent first. */
    protected variableItems(document: LangiumDocument, offset: number): CompletionItem[] {
        return this.bindingsAt(document, offset).map((binding, i) => ({
            label: binding.name,
            kind: CompletionItemKind.Variable,
            detail: this.describeNode(binding),
            sortText: `2${String(i).padStart(3, '0')}`,
        }));
    }

    /** Devices of the scenario's machine. */
    protected deviceItems(document: LangiumDocument, offset: number): CompletionItem[] {
        const node = this.bodyOwnerAt(document, offset);
        if (!node) {
            return [];
        }
        const scope = (this.scopeProvider as IommuScopeProvider).deviceScope(node, true);
        return scope.getAllElements().toArray().map(d => ({
            label: d.name,
            kind: CompletionItemKind.Class,
            detail: d.node ? this.describeNode(d.node) : d.type,
            sortText: '1',
        }));
    }

    // -----------------------------------------------------------------------------------------
    // Positions and bindings

    /** The innermost process, procedure or loop whose text contains `offset`. */
    protected bodyOwnerAt(document: LangiumDocument, offset: number): AstNode | undefined {
        const root = document.parseResult.value.$cstNode;
        const leaf = root && (CstUtils.findLeafNodeAtOffset(root, offset) ?? CstUtils.findLeafNodeBeforeOffset(root, offset));
        for (let node: AstNode | undefined = leaf?.astNode; node; node = node.$container) {
            const cst = node.$cstNode;
            if ((isProcessBlock(node) || isProcedure(node) || isForStatement(node) || isRepeatStatement(node)) && cst
                && cst.offset < offset && offset <= cst.end) {
                return node;
            }
        }
        return undefined;
    }

    /** The statement that contains `offset`, or the last one of its body before it. */
    protected statementBefore(document: LangiumDocument, offset: number): (AstNode & Statement) | undefined {
        const owner = this.bodyOwnerAt(document, offset);
        const body = owner && 'body' in owner ? owner.body as Array<AstNode & Statement> : [];
        let found: (AstNode & Statement) | undefined;
        for (const statement of body) {
            const cst = statement.$cstNode;
            if (cst && cst.offset <= offset) {
                found = statement;
            }
        }
        return found;
    }

    /** The bindings visible at `offset`, most recent first. */
    protected bindingsAt(document: LangiumDocument, offset: number): Array<Binding & { name: string }> {
        const owner = this.bodyOwnerAt(document, offset);
        const body = owner && 'body' in owner ? owner.body as Array<AstNode & Statement> : [];
        let visible: Binding[] = [];
        const before = body.filter(s => s.$cstNode && s.$cstNode.offset < offset);
        const last = before[before.length - 1];
        if (last?.$cstNode && offset <= last.$cstNode.end) {
            visible = this.bindings.at(last);
        } else if (last) {
            const own = ownBinding(last);
            visible = [...(own ? [own] : []), ...this.bindings.at(last)];
        } else if (body[0]) {
            visible = this.bindings.at(body[0]);
        } else if (owner && (isForStatement(owner) || isRepeatStatement(owner))) {
            visible = [...(isForStatement(owner) ? [owner] : []), ...this.bindings.at(owner)];
        } else if (isProcedure(owner)) {
            visible = [...owner.params];
        }
        const seen = new Set<string>();
        return visible.filter((b): b is Binding & { name: string } => {
            if (b.name === undefined || seen.has(b.name)) {
                return false;
            }
            seen.add(b.name);
            return true;
        });
    }

    /** The fd variables visible at `offset` whose kind is known, most recent first. */
    protected fdsAt(document: LangiumDocument, offset: number): Array<{ name: string; kind: FileKind }> {
        return this.bindingsAt(document, offset).flatMap(b => {
            const kind = fileKindOfBinding(b);
            return kind && kind !== 'memfd' ? [{ name: b.name, kind }] : [];
        });
    }

    /** The kernel version of the scenario's machine. */
    protected kernelVersion(node: AstNode | undefined): KernelVersion {
        const scenario = node && AstUtils.getContainerOfType(node, isScenario);
        const machine = scenario?.machine.ref;
        return (machine && this.lowering.machine(machine).kernel) ?? NEWEST_KERNEL;
    }

    /** What a completed name is, in a few words. */
    protected describeNode(node: AstNode): string | undefined {
        if (isDeviceNode(node)) {
            const bdf = 'bdf' in node ? ` ${node.bdf}` : '';
            const driver = 'driver' in node && node.driver ? `, ${node.driver}` : '';
            return `${node.$type === 'VirtualFunction' ? 'virtual function' : node.$type.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}${bdf}${driver}`;
        }
        if (isOpenStatement(node)) {
            const kind = fileKindOfBinding(node);
            return `fd: ${kind ? describeFileKind(kind) : 'open'}`;
        }
        if (isIoctlStatement(node)) {
            const def = findIoctl(node.ioctl);
            const kind = fileKindOfBinding(node);
            return kind ? `fd: ${describeFileKind(kind)}` : `${node.ioctl}${def?.main ? ` → ${def.main === 'ret' ? def.retName ?? 'ret' : def.main}` : ''}`;
        }
        if (isMmapStatement(node)) {
            return 'address: mmap';
        }
        if (isMemfdStatement(node)) {
            return 'fd: memfd';
        }
        if (isSvaBindStatement(node)) {
            return 'PASID: sva-bind';
        }
        if (isSendStatement(node)) {
            return `fd: received from ${AstUtils.getContainerOfType(node, isProcessBlock)?.name ?? 'another process'}`;
        }
        if (isForStatement(node)) {
            return 'loop variable';
        }
        if (isParameter(node)) {
            return `parameter of ${node.$container.name}`;
        }
        if (node.$type === 'KernelConstant') {
            const constant = node as AstNode & { value: bigint; doc: string };
            return `${hex(constant.value)} · ${constant.doc}`;
        }
        return undefined;
    }
}
