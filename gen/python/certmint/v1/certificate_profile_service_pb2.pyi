from certmint.v1 import common_pb2 as _common_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
ENROLLMENT_METHOD_ACME: EnrollmentMethod
ENROLLMENT_METHOD_API: EnrollmentMethod
ENROLLMENT_METHOD_EST: EnrollmentMethod
ENROLLMENT_METHOD_UNSPECIFIED: EnrollmentMethod
PRIVATE_KEY_RETENTION_RETURN_ONCE: PrivateKeyRetention
PRIVATE_KEY_RETENTION_STORE_ENCRYPTED: PrivateKeyRetention
PRIVATE_KEY_RETENTION_UNSPECIFIED: PrivateKeyRetention
VALIDITY_OVERFLOW_FAIL: ValidityOverflow
VALIDITY_OVERFLOW_TRUNCATE: ValidityOverflow
VALIDITY_OVERFLOW_UNSPECIFIED: ValidityOverflow

class AcmeSettings(_message.Message):
    __slots__ = ["require_external_account_binding"]
    REQUIRE_EXTERNAL_ACCOUNT_BINDING_FIELD_NUMBER: _ClassVar[int]
    require_external_account_binding: bool
    def __init__(self, require_external_account_binding: bool = ...) -> None: ...

class CertificateProfile(_message.Message):
    __slots__ = ["acme", "allow_self_approval", "certificate_authority", "certificate_policy", "create_time", "defaults", "description", "enrollment_method", "etag", "id", "private_key_retention", "renewal", "require_approval", "self_signed", "slug", "update_time", "validity_overflow"]
    ACME_FIELD_NUMBER: _ClassVar[int]
    ALLOW_SELF_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ENROLLMENT_METHOD_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_KEY_RETENTION_FIELD_NUMBER: _ClassVar[int]
    RENEWAL_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    SELF_SIGNED_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VALIDITY_OVERFLOW_FIELD_NUMBER: _ClassVar[int]
    acme: AcmeSettings
    allow_self_approval: bool
    certificate_authority: str
    certificate_policy: str
    create_time: _timestamp_pb2.Timestamp
    defaults: ProfileDefaults
    description: str
    enrollment_method: EnrollmentMethod
    etag: str
    id: str
    private_key_retention: PrivateKeyRetention
    renewal: RenewalSettings
    require_approval: bool
    self_signed: bool
    slug: str
    update_time: _timestamp_pb2.Timestamp
    validity_overflow: ValidityOverflow
    def __init__(self, id: _Optional[str] = ..., slug: _Optional[str] = ..., description: _Optional[str] = ..., certificate_policy: _Optional[str] = ..., certificate_authority: _Optional[str] = ..., self_signed: bool = ..., enrollment_method: _Optional[_Union[EnrollmentMethod, str]] = ..., defaults: _Optional[_Union[ProfileDefaults, _Mapping]] = ..., renewal: _Optional[_Union[RenewalSettings, _Mapping]] = ..., require_approval: bool = ..., validity_overflow: _Optional[_Union[ValidityOverflow, str]] = ..., private_key_retention: _Optional[_Union[PrivateKeyRetention, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., allow_self_approval: bool = ..., acme: _Optional[_Union[AcmeSettings, _Mapping]] = ...) -> None: ...

class CreateAcmeExternalAccountKeyRequest(_message.Message):
    __slots__ = ["certificate_profile"]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    certificate_profile: str
    def __init__(self, certificate_profile: _Optional[str] = ...) -> None: ...

class CreateAcmeExternalAccountKeyResponse(_message.Message):
    __slots__ = ["certificate_profile_id", "hmac_key", "key_id"]
    CERTIFICATE_PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    HMAC_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    certificate_profile_id: str
    hmac_key: str
    key_id: str
    def __init__(self, key_id: _Optional[str] = ..., hmac_key: _Optional[str] = ..., certificate_profile_id: _Optional[str] = ...) -> None: ...

class CreateCertificateProfileRequest(_message.Message):
    __slots__ = ["certificate_profile"]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    certificate_profile: CertificateProfile
    def __init__(self, certificate_profile: _Optional[_Union[CertificateProfile, _Mapping]] = ...) -> None: ...

class CreateCertificateProfileResponse(_message.Message):
    __slots__ = ["certificate_profile"]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    certificate_profile: CertificateProfile
    def __init__(self, certificate_profile: _Optional[_Union[CertificateProfile, _Mapping]] = ...) -> None: ...

class DeleteCertificateProfileRequest(_message.Message):
    __slots__ = ["certificate_profile", "etag"]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    certificate_profile: str
    etag: str
    def __init__(self, certificate_profile: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteCertificateProfileResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetCertificateProfileRequest(_message.Message):
    __slots__ = ["certificate_profile"]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    certificate_profile: str
    def __init__(self, certificate_profile: _Optional[str] = ...) -> None: ...

class GetCertificateProfileResponse(_message.Message):
    __slots__ = ["certificate_profile"]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    certificate_profile: CertificateProfile
    def __init__(self, certificate_profile: _Optional[_Union[CertificateProfile, _Mapping]] = ...) -> None: ...

class ListCertificateProfilesRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCertificateProfilesResponse(_message.Message):
    __slots__ = ["certificate_profiles", "next_page_token"]
    CERTIFICATE_PROFILES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    certificate_profiles: _containers.RepeatedCompositeFieldContainer[CertificateProfile]
    next_page_token: str
    def __init__(self, certificate_profiles: _Optional[_Iterable[_Union[CertificateProfile, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ProfileDefaults(_message.Message):
    __slots__ = ["extended_key_usages", "key_algorithm", "key_usages", "signature_algorithm", "subject", "ttl"]
    EXTENDED_KEY_USAGES_FIELD_NUMBER: _ClassVar[int]
    KEY_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    KEY_USAGES_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    extended_key_usages: _containers.RepeatedScalarFieldContainer[_common_pb2.ExtendedKeyUsage]
    key_algorithm: _common_pb2.KeyAlgorithm
    key_usages: _containers.RepeatedScalarFieldContainer[_common_pb2.KeyUsage]
    signature_algorithm: _common_pb2.SignatureAlgorithm
    subject: _common_pb2.Subject
    ttl: _duration_pb2.Duration
    def __init__(self, ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., key_algorithm: _Optional[_Union[_common_pb2.KeyAlgorithm, str]] = ..., signature_algorithm: _Optional[_Union[_common_pb2.SignatureAlgorithm, str]] = ..., key_usages: _Optional[_Iterable[_Union[_common_pb2.KeyUsage, str]]] = ..., extended_key_usages: _Optional[_Iterable[_Union[_common_pb2.ExtendedKeyUsage, str]]] = ...) -> None: ...

class RenewalSettings(_message.Message):
    __slots__ = ["allow_shared_renewal", "auto_renew", "renew_before", "renew_before_days"]
    ALLOW_SHARED_RENEWAL_FIELD_NUMBER: _ClassVar[int]
    AUTO_RENEW_FIELD_NUMBER: _ClassVar[int]
    RENEW_BEFORE_DAYS_FIELD_NUMBER: _ClassVar[int]
    RENEW_BEFORE_FIELD_NUMBER: _ClassVar[int]
    allow_shared_renewal: bool
    auto_renew: bool
    renew_before: _duration_pb2.Duration
    renew_before_days: int
    def __init__(self, auto_renew: bool = ..., renew_before_days: _Optional[int] = ..., allow_shared_renewal: bool = ..., renew_before: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class UpdateCertificateProfileRequest(_message.Message):
    __slots__ = ["certificate_profile", "update_mask"]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    certificate_profile: CertificateProfile
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, certificate_profile: _Optional[_Union[CertificateProfile, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateCertificateProfileResponse(_message.Message):
    __slots__ = ["certificate_profile"]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    certificate_profile: CertificateProfile
    def __init__(self, certificate_profile: _Optional[_Union[CertificateProfile, _Mapping]] = ...) -> None: ...

class EnrollmentMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ValidityOverflow(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class PrivateKeyRetention(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
