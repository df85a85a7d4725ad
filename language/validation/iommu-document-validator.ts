/**
 * Reports linking errors with the code their cause has (`unknown-device`, `unknown-variable`...)
 * in `Diagnostic.code` and `data.code`, instead of Langium's generic `linking-error`. Device
 * names of a scenario whose machine does not resolve are not reported: the unknown machine is.
 */

import { AstUtils, DefaultDocumentValidator, type AstNode, type LangiumDocument, type ValidationOptions } from 'langium';
import { isScenario } from '../generated/ast.js';
import type { IommuLinkingError } from '../linking/iommu-linker.js';
import { IommuCodes } from './diagnostic-codes.js';

/** An LSP diagnostic, as documents hold them. */
type Diagnostic = NonNullable<LangiumDocument['diagnostics']>[number];

/** Langium's document validator, with coded linking errors. */
export class IommuDocumentValidator extends DefaultDocumentValidator {
    protected override processLinkingErrors(document: LangiumDocument, diagnostics: Diagnostic[], _options: ValidationOptions): void {
        for (const reference of document.references) {
            const error = reference.error as IommuLinkingError | undefined;
            if (!error || (error.code === IommuCodes.UnknownDevice && this.machineIsUnknown(error.info.container))) {
                continue;
            }
            const code = error.code ?? 'linking-error';
            diagnostics.push(this.toDiagnostic('error', error.message, {
                node: error.info.container,
                range: reference.$refNode?.range,
                property: error.info.property,
                index: error.info.index,
                code,
                data: {
                    code,
                    containerType: error.info.container.$type,
                    property: error.info.property,
                    refText: error.info.reference.$refText,
                },
            }));
        }
    }

    /** Whether the node is in a scenario whose `on MACHINE` does not resolve. */
    protected machineIsUnknown(node: AstNode): boolean {
        const scenario = AstUtils.getContainerOfType(node, isScenario);
        return scenario !== undefined && scenario.machine.ref === undefined;
    }
}
