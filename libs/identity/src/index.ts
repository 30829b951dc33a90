export { FABRIC_ATTRS_OID, fabricAttributes, parseCertificate } from './certificates';
export {
  ADMIN_USER,
  DEFAULT_ORGANISATIONS,
  IdentityError,
  ROLES,
  addIdentity,
  ensureIdentity,
  ensureNode,
  initOrganisations,
  listIdentities,
  loadIdentity,
  readOrganisations,
  type Identity,
  type IdentityType,
  type NewIdentity,
  type NodeIdentity,
  type Organisation,
  type OrganisationSummary,
  type Role,
  type UserSummary,
} from './msp';
export { certificateFingerprint, signUpdate, UpdateSignatureError, updateSigningBytes, verifyUpdateSignature, type UpdateSignature, type UpdateSigningFields } from './update-signature';
export { REQUEST_HEADERS, REQUEST_MAX_SKEW_MS, RequestSignatureError, requestSigningBytes, signedJsonPost, signRequest, verifyRequestSignature, type SignedRequest } from './request-signature';
export { SignerError, verifySigner, type Signer } from './signer';
