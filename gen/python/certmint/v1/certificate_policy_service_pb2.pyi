from certmint.v1 import common_pb2 as _common_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CA_CERTIFICATE_RULE_ALLOWED: CaCertificateRule
CA_CERTIFICATE_RULE_DENIED: CaCertificateRule
CA_CERTIFICATE_RULE_REQUIRED: CaCertificateRule
CA_CERTIFICATE_RULE_UNSPECIFIED: CaCertificateRule
CERTIFICATE_POLICY_PRESET_CODE_SIGNING: CertificatePolicyPreset
CERTIFICATE_POLICY_PRESET_DUAL_PURPOSE_SERVER: CertificatePolicyPreset
CERTIFICATE_POLICY_PRESET_EMAIL_PROTECTION: CertificatePolicyPreset
CERTIFICATE_POLICY_PRESET_INTERMEDIATE_CA: CertificatePolicyPreset
CERTIFICATE_POLICY_PRESET_TLS_CLIENT: CertificatePolicyPreset
CERTIFICATE_POLICY_PRESET_TLS_SERVER: CertificatePolicyPreset
CERTIFICATE_POLICY_PRESET_UNSPECIFIED: CertificatePolicyPreset
DESCRIPTOR: _descriptor.FileDescriptor
SUBJECT_NAMES_IN_SANS_COPY: SubjectNamesInSans
SUBJECT_NAMES_IN_SANS_NOT_REQUIRED: SubjectNamesInSans
SUBJECT_NAMES_IN_SANS_REQUIRE: SubjectNamesInSans
SUBJECT_NAMES_IN_SANS_UNSPECIFIED: SubjectNamesInSans

class BasicConstraintsRule(_message.Message):
    __slots__ = ["ca", "max_path_length"]
    CA_FIELD_NUMBER: _ClassVar[int]
    MAX_PATH_LENGTH_FIELD_NUMBER: _ClassVar[int]
    ca: CaCertificateRule
    max_path_length: int
    def __init__(self, ca: _Optional[_Union[CaCertificateRule, str]] = ..., max_path_length: _Optional[int] = ...) -> None: ...

class CertificatePolicy(_message.Message):
    __slots__ = ["basic_constraints", "create_time", "description", "etag", "extended_key_usages", "id", "key_algorithms", "key_usages", "max_ttl", "san_rules", "signature_algorithms", "slug", "subject_names_in_sans", "subject_rules", "update_time"]
    BASIC_CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    EXTENDED_KEY_USAGES_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ALGORITHMS_FIELD_NUMBER: _ClassVar[int]
    KEY_USAGES_FIELD_NUMBER: _ClassVar[int]
    MAX_TTL_FIELD_NUMBER: _ClassVar[int]
    SAN_RULES_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_ALGORITHMS_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_NAMES_IN_SANS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_RULES_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    basic_constraints: BasicConstraintsRule
    create_time: _timestamp_pb2.Timestamp
    description: str
    etag: str
    extended_key_usages: ExtendedKeyUsageRule
    id: str
    key_algorithms: KeyAlgorithmRule
    key_usages: KeyUsageRule
    max_ttl: _duration_pb2.Duration
    san_rules: SanRules
    signature_algorithms: SignatureAlgorithmRule
    slug: str
    subject_names_in_sans: SubjectNamesInSans
    subject_rules: SubjectRules
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., slug: _Optional[str] = ..., description: _Optional[str] = ..., subject_rules: _Optional[_Union[SubjectRules, _Mapping]] = ..., san_rules: _Optional[_Union[SanRules, _Mapping]] = ..., key_usages: _Optional[_Union[KeyUsageRule, _Mapping]] = ..., extended_key_usages: _Optional[_Union[ExtendedKeyUsageRule, _Mapping]] = ..., key_algorithms: _Optional[_Union[KeyAlgorithmRule, _Mapping]] = ..., signature_algorithms: _Optional[_Union[SignatureAlgorithmRule, _Mapping]] = ..., max_ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., basic_constraints: _Optional[_Union[BasicConstraintsRule, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., subject_names_in_sans: _Optional[_Union[SubjectNamesInSans, str]] = ...) -> None: ...

class CreateCertificatePolicyRequest(_message.Message):
    __slots__ = ["certificate_policy", "preset"]
    CERTIFICATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    certificate_policy: CertificatePolicy
    preset: CertificatePolicyPreset
    def __init__(self, certificate_policy: _Optional[_Union[CertificatePolicy, _Mapping]] = ..., preset: _Optional[_Union[CertificatePolicyPreset, str]] = ...) -> None: ...

class CreateCertificatePolicyResponse(_message.Message):
    __slots__ = ["certificate_policy"]
    CERTIFICATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    certificate_policy: CertificatePolicy
    def __init__(self, certificate_policy: _Optional[_Union[CertificatePolicy, _Mapping]] = ...) -> None: ...

class DeleteCertificatePolicyRequest(_message.Message):
    __slots__ = ["certificate_policy", "etag"]
    CERTIFICATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    certificate_policy: str
    etag: str
    def __init__(self, certificate_policy: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteCertificatePolicyResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ExtendedKeyUsageRule(_message.Message):
    __slots__ = ["allowed", "denied", "required"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    DENIED_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    allowed: _containers.RepeatedScalarFieldContainer[_common_pb2.ExtendedKeyUsage]
    denied: _containers.RepeatedScalarFieldContainer[_common_pb2.ExtendedKeyUsage]
    required: _containers.RepeatedScalarFieldContainer[_common_pb2.ExtendedKeyUsage]
    def __init__(self, allowed: _Optional[_Iterable[_Union[_common_pb2.ExtendedKeyUsage, str]]] = ..., required: _Optional[_Iterable[_Union[_common_pb2.ExtendedKeyUsage, str]]] = ..., denied: _Optional[_Iterable[_Union[_common_pb2.ExtendedKeyUsage, str]]] = ...) -> None: ...

class GetCertificatePolicyRequest(_message.Message):
    __slots__ = ["certificate_policy"]
    CERTIFICATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    certificate_policy: str
    def __init__(self, certificate_policy: _Optional[str] = ...) -> None: ...

class GetCertificatePolicyResponse(_message.Message):
    __slots__ = ["certificate_policy"]
    CERTIFICATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    certificate_policy: CertificatePolicy
    def __init__(self, certificate_policy: _Optional[_Union[CertificatePolicy, _Mapping]] = ...) -> None: ...

class KeyAlgorithmRule(_message.Message):
    __slots__ = ["allowed", "min_rsa_bits"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    MIN_RSA_BITS_FIELD_NUMBER: _ClassVar[int]
    allowed: _containers.RepeatedScalarFieldContainer[_common_pb2.KeyAlgorithm]
    min_rsa_bits: int
    def __init__(self, allowed: _Optional[_Iterable[_Union[_common_pb2.KeyAlgorithm, str]]] = ..., min_rsa_bits: _Optional[int] = ...) -> None: ...

class KeyUsageRule(_message.Message):
    __slots__ = ["allowed", "denied", "required"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    DENIED_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    allowed: _containers.RepeatedScalarFieldContainer[_common_pb2.KeyUsage]
    denied: _containers.RepeatedScalarFieldContainer[_common_pb2.KeyUsage]
    required: _containers.RepeatedScalarFieldContainer[_common_pb2.KeyUsage]
    def __init__(self, allowed: _Optional[_Iterable[_Union[_common_pb2.KeyUsage, str]]] = ..., required: _Optional[_Iterable[_Union[_common_pb2.KeyUsage, str]]] = ..., denied: _Optional[_Iterable[_Union[_common_pb2.KeyUsage, str]]] = ...) -> None: ...

class ListCertificatePoliciesRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCertificatePoliciesResponse(_message.Message):
    __slots__ = ["certificate_policies", "next_page_token"]
    CERTIFICATE_POLICIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    certificate_policies: _containers.RepeatedCompositeFieldContainer[CertificatePolicy]
    next_page_token: str
    def __init__(self, certificate_policies: _Optional[_Iterable[_Union[CertificatePolicy, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class NameRule(_message.Message):
    __slots__ = ["allow_sub_addresses", "allow_wildcard_names", "allowed", "denied", "required"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    ALLOW_SUB_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_WILDCARD_NAMES_FIELD_NUMBER: _ClassVar[int]
    DENIED_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    allow_sub_addresses: bool
    allow_wildcard_names: bool
    allowed: _containers.RepeatedScalarFieldContainer[str]
    denied: _containers.RepeatedScalarFieldContainer[str]
    required: bool
    def __init__(self, allowed: _Optional[_Iterable[str]] = ..., denied: _Optional[_Iterable[str]] = ..., required: bool = ..., allow_wildcard_names: bool = ..., allow_sub_addresses: bool = ...) -> None: ...

class SanRules(_message.Message):
    __slots__ = ["dns", "email", "ip", "uri"]
    DNS_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    dns: NameRule
    email: NameRule
    ip: NameRule
    uri: NameRule
    def __init__(self, dns: _Optional[_Union[NameRule, _Mapping]] = ..., ip: _Optional[_Union[NameRule, _Mapping]] = ..., email: _Optional[_Union[NameRule, _Mapping]] = ..., uri: _Optional[_Union[NameRule, _Mapping]] = ...) -> None: ...

class SignatureAlgorithmRule(_message.Message):
    __slots__ = ["allowed"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    allowed: _containers.RepeatedScalarFieldContainer[_common_pb2.SignatureAlgorithm]
    def __init__(self, allowed: _Optional[_Iterable[_Union[_common_pb2.SignatureAlgorithm, str]]] = ...) -> None: ...

class SubjectRules(_message.Message):
    __slots__ = ["common_name", "country", "email_address", "locality", "organization", "organizational_unit", "postal_code", "serial_number", "state", "street_address"]
    COMMON_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    EMAIL_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LOCALITY_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATIONAL_UNIT_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STREET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    common_name: ValueRule
    country: ValueRule
    email_address: ValueRule
    locality: ValueRule
    organization: ValueRule
    organizational_unit: ValueRule
    postal_code: ValueRule
    serial_number: ValueRule
    state: ValueRule
    street_address: ValueRule
    def __init__(self, common_name: _Optional[_Union[ValueRule, _Mapping]] = ..., organization: _Optional[_Union[ValueRule, _Mapping]] = ..., organizational_unit: _Optional[_Union[ValueRule, _Mapping]] = ..., country: _Optional[_Union[ValueRule, _Mapping]] = ..., state: _Optional[_Union[ValueRule, _Mapping]] = ..., locality: _Optional[_Union[ValueRule, _Mapping]] = ..., street_address: _Optional[_Union[ValueRule, _Mapping]] = ..., postal_code: _Optional[_Union[ValueRule, _Mapping]] = ..., serial_number: _Optional[_Union[ValueRule, _Mapping]] = ..., email_address: _Optional[_Union[ValueRule, _Mapping]] = ...) -> None: ...

class UpdateCertificatePolicyRequest(_message.Message):
    __slots__ = ["certificate_policy", "update_mask"]
    CERTIFICATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    certificate_policy: CertificatePolicy
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, certificate_policy: _Optional[_Union[CertificatePolicy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateCertificatePolicyResponse(_message.Message):
    __slots__ = ["certificate_policy"]
    CERTIFICATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    certificate_policy: CertificatePolicy
    def __init__(self, certificate_policy: _Optional[_Union[CertificatePolicy, _Mapping]] = ...) -> None: ...

class ValueRule(_message.Message):
    __slots__ = ["allowed", "denied", "required"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    DENIED_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    allowed: _containers.RepeatedScalarFieldContainer[str]
    denied: _containers.RepeatedScalarFieldContainer[str]
    required: bool
    def __init__(self, allowed: _Optional[_Iterable[str]] = ..., denied: _Optional[_Iterable[str]] = ..., required: bool = ...) -> None: ...

class CertificatePolicyPreset(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class CaCertificateRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SubjectNamesInSans(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
