/**
 * Linking errors that say what was expected and what is close: "unknown device 'nic9'; did you
 * mean 'nic0' or 'nic1'?", with a stable code (see {@link UnresolvedNames}).
 */

import { DefaultLinker, type AstNodeDescription, type LinkingError, type ReferenceInfo } from 'langium';
import type { IommuServices } from '../iommu-module.js';
import type { IommuCode } from '../validation/diagnostic-codes.js';

/** A linking error with the code of its diagnostic. */
export interface IommuLinkingError extends LinkingError {
    readonly code?: IommuCode;
}

/** Links as Langium does; explains unresolved names in the language's terms. */
export class IommuLinker extends DefaultLinker {
    protected readonly services: IommuServices;

    constructor(services: IommuServices) {
        super(services);
        this.services = services;
    }

    protected override createLinkingError(info: ReferenceInfo, targetDescription?: AstNodeDescription): IommuLinkingError {
        const error = super.createLinkingError(info, targetDescription);
        if (targetDescription) {
            return error;
        }
        const { code, message } = this.services.references.UnresolvedNames.describe(info);
        return { ...error, code, message };
    }
}
