export { FABRIC_ATTRS_OID, fabricAttributes, parseCertificate } from './certificates';
export {
  ADMIN_USER,
  DEFAULT_ORGANISATIONS,
  IdentityError,
  ROLES,
  addIdentity,
  initOrganisations,
  listIdentities,
  loadIdentity,
  readOrganisations,
  type Identity,
  type IdentityType,
  type NewIdentity,
  type Organisation,
  type OrganisationSummary,
  type Role,
  type UserSummary,
} from './msp';
