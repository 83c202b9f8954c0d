from certmint.v1 import common_pb2 as _common_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CERTIFICATE_AUTHORITY_STATUS_ACTIVE: CertificateAuthorityStatus
CERTIFICATE_AUTHORITY_STATUS_DISABLED: CertificateAuthorityStatus
CERTIFICATE_AUTHORITY_STATUS_PENDING_CERTIFICATE: CertificateAuthorityStatus
CERTIFICATE_AUTHORITY_STATUS_UNSPECIFIED: CertificateAuthorityStatus
CERTIFICATE_AUTHORITY_TYPE_EXTERNAL_INTERMEDIATE: CertificateAuthorityType
CERTIFICATE_AUTHORITY_TYPE_INTERMEDIATE: CertificateAuthorityType
CERTIFICATE_AUTHORITY_TYPE_ROOT: CertificateAuthorityType
CERTIFICATE_AUTHORITY_TYPE_UNSPECIFIED: CertificateAuthorityType
CRL_ENCODING_DER: CrlEncoding
CRL_ENCODING_PEM: CrlEncoding
CRL_ENCODING_UNSPECIFIED: CrlEncoding
DESCRIPTOR: _descriptor.FileDescriptor

class CertificateAuthority(_message.Message):
    __slots__ = ["certificate_chain_pem", "certificate_pem", "create_time", "csr_pem", "description", "etag", "id", "key_algorithm", "max_path_length", "name_constraints", "not_after", "not_before", "parent_certificate_authority_id", "revocation_reason", "revoke_time", "serial_number", "signature_algorithm", "slug", "status", "subject", "type", "update_time"]
    CERTIFICATE_CHAIN_PEM_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    MAX_PATH_LENGTH_FIELD_NUMBER: _ClassVar[int]
    NAME_CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PARENT_CERTIFICATE_AUTHORITY_ID_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_REASON_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    certificate_chain_pem: _containers.RepeatedScalarFieldContainer[str]
    certificate_pem: str
    create_time: _timestamp_pb2.Timestamp
    csr_pem: str
    description: str
    etag: str
    id: str
    key_algorithm: _common_pb2.KeyAlgorithm
    max_path_length: int
    name_constraints: _common_pb2.NameConstraints
    not_after: _timestamp_pb2.Timestamp
    not_before: _timestamp_pb2.Timestamp
    parent_certificate_authority_id: str
    revocation_reason: _common_pb2.RevocationReason
    revoke_time: _timestamp_pb2.Timestamp
    serial_number: str
    signature_algorithm: _common_pb2.SignatureAlgorithm
    slug: str
    status: CertificateAuthorityStatus
    subject: _common_pb2.Subject
    type: CertificateAuthorityType
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., slug: _Optional[str] = ..., description: _Optional[str] = ..., type: _Optional[_Union[CertificateAuthorityType, str]] = ..., status: _Optional[_Union[CertificateAuthorityStatus, str]] = ..., subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., key_algorithm: _Optional[_Union[_common_pb2.KeyAlgorithm, str]] = ..., signature_algorithm: _Optional[_Union[_common_pb2.SignatureAlgorithm, str]] = ..., parent_certificate_authority_id: _Optional[str] = ..., certificate_pem: _Optional[str] = ..., certificate_chain_pem: _Optional[_Iterable[str]] = ..., serial_number: _Optional[str] = ..., not_before: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., max_path_length: _Optional[int] = ..., csr_pem: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., name_constraints: _Optional[_Union[_common_pb2.NameConstraints, _Mapping]] = ..., revoke_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revocation_reason: _Optional[_Union[_common_pb2.RevocationReason, str]] = ...) -> None: ...

class CreateExternalIntermediateCertificateAuthorityRequest(_message.Message):
    __slots__ = ["description", "key_algorithm", "signature_algorithm", "slug", "subject"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KEY_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    description: str
    key_algorithm: _common_pb2.KeyAlgorithm
    signature_algorithm: _common_pb2.SignatureAlgorithm
    slug: str
    subject: _common_pb2.Subject
    def __init__(self, slug: _Optional[str] = ..., description: _Optional[str] = ..., subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., key_algorithm: _Optional[_Union[_common_pb2.KeyAlgorithm, str]] = ..., signature_algorithm: _Optional[_Union[_common_pb2.SignatureAlgorithm, str]] = ...) -> None: ...

class CreateExternalIntermediateCertificateAuthorityResponse(_message.Message):
    __slots__ = ["certificate_authority", "csr_pem"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: CertificateAuthority
    csr_pem: str
    def __init__(self, certificate_authority: _Optional[_Union[CertificateAuthority, _Mapping]] = ..., csr_pem: _Optional[str] = ...) -> None: ...

class CreateIntermediateCertificateAuthorityRequest(_message.Message):
    __slots__ = ["description", "key_algorithm", "max_path_length", "name_constraints", "parent_certificate_authority", "signature_algorithm", "slug", "subject", "ttl"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KEY_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    MAX_PATH_LENGTH_FIELD_NUMBER: _ClassVar[int]
    NAME_CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    PARENT_CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    description: str
    key_algorithm: _common_pb2.KeyAlgorithm
    max_path_length: int
    name_constraints: _common_pb2.NameConstraints
    parent_certificate_authority: str
    signature_algorithm: _common_pb2.SignatureAlgorithm
    slug: str
    subject: _common_pb2.Subject
    ttl: _duration_pb2.Duration
    def __init__(self, slug: _Optional[str] = ..., description: _Optional[str] = ..., parent_certificate_authority: _Optional[str] = ..., subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., key_algorithm: _Optional[_Union[_common_pb2.KeyAlgorithm, str]] = ..., signature_algorithm: _Optional[_Union[_common_pb2.SignatureAlgorithm, str]] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_path_length: _Optional[int] = ..., name_constraints: _Optional[_Union[_common_pb2.NameConstraints, _Mapping]] = ...) -> None: ...

class CreateIntermediateCertificateAuthorityResponse(_message.Message):
    __slots__ = ["certificate_authority"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: CertificateAuthority
    def __init__(self, certificate_authority: _Optional[_Union[CertificateAuthority, _Mapping]] = ...) -> None: ...

class CreateRootCertificateAuthorityRequest(_message.Message):
    __slots__ = ["description", "key_algorithm", "max_path_length", "signature_algorithm", "slug", "subject", "ttl"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KEY_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    MAX_PATH_LENGTH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    description: str
    key_algorithm: _common_pb2.KeyAlgorithm
    max_path_length: int
    signature_algorithm: _common_pb2.SignatureAlgorithm
    slug: str
    subject: _common_pb2.Subject
    ttl: _duration_pb2.Duration
    def __init__(self, slug: _Optional[str] = ..., description: _Optional[str] = ..., subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., key_algorithm: _Optional[_Union[_common_pb2.KeyAlgorithm, str]] = ..., signature_algorithm: _Optional[_Union[_common_pb2.SignatureAlgorithm, str]] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_path_length: _Optional[int] = ...) -> None: ...

class CreateRootCertificateAuthorityResponse(_message.Message):
    __slots__ = ["certificate_authority"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: CertificateAuthority
    def __init__(self, certificate_authority: _Optional[_Union[CertificateAuthority, _Mapping]] = ...) -> None: ...

class DeleteCertificateAuthorityRequest(_message.Message):
    __slots__ = ["certificate_authority", "etag"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: str
    etag: str
    def __init__(self, certificate_authority: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteCertificateAuthorityResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetCertificateAuthorityRequest(_message.Message):
    __slots__ = ["certificate_authority"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: str
    def __init__(self, certificate_authority: _Optional[str] = ...) -> None: ...

class GetCertificateAuthorityResponse(_message.Message):
    __slots__ = ["certificate_authority"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: CertificateAuthority
    def __init__(self, certificate_authority: _Optional[_Union[CertificateAuthority, _Mapping]] = ...) -> None: ...

class GetCertificateRevocationListRequest(_message.Message):
    __slots__ = ["certificate_authority", "encoding", "known_crl_number"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    KNOWN_CRL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: str
    encoding: CrlEncoding
    known_crl_number: str
    def __init__(self, certificate_authority: _Optional[str] = ..., encoding: _Optional[_Union[CrlEncoding, str]] = ..., known_crl_number: _Optional[str] = ...) -> None: ...

class GetCertificateRevocationListResponse(_message.Message):
    __slots__ = ["crl_der", "crl_number", "crl_pem", "next_update", "this_update", "unchanged"]
    CRL_DER_FIELD_NUMBER: _ClassVar[int]
    CRL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CRL_PEM_FIELD_NUMBER: _ClassVar[int]
    NEXT_UPDATE_FIELD_NUMBER: _ClassVar[int]
    THIS_UPDATE_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    crl_der: bytes
    crl_number: str
    crl_pem: str
    next_update: _timestamp_pb2.Timestamp
    this_update: _timestamp_pb2.Timestamp
    unchanged: bool
    def __init__(self, crl_pem: _Optional[str] = ..., crl_der: _Optional[bytes] = ..., crl_number: _Optional[str] = ..., this_update: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., next_update: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., unchanged: bool = ...) -> None: ...

class ImportCertificateAuthorityCertificateRequest(_message.Message):
    __slots__ = ["certificate_authority", "certificate_chain_pem", "certificate_pem"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_CHAIN_PEM_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: str
    certificate_chain_pem: _containers.RepeatedScalarFieldContainer[str]
    certificate_pem: str
    def __init__(self, certificate_authority: _Optional[str] = ..., certificate_pem: _Optional[str] = ..., certificate_chain_pem: _Optional[_Iterable[str]] = ...) -> None: ...

class ImportCertificateAuthorityCertificateResponse(_message.Message):
    __slots__ = ["certificate_authority"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: CertificateAuthority
    def __init__(self, certificate_authority: _Optional[_Union[CertificateAuthority, _Mapping]] = ...) -> None: ...

class ListCertificateAuthoritiesRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "status"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    status: CertificateAuthorityStatus
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., status: _Optional[_Union[CertificateAuthorityStatus, str]] = ...) -> None: ...

class ListCertificateAuthoritiesResponse(_message.Message):
    __slots__ = ["certificate_authorities", "next_page_token"]
    CERTIFICATE_AUTHORITIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    certificate_authorities: _containers.RepeatedCompositeFieldContainer[CertificateAuthority]
    next_page_token: str
    def __init__(self, certificate_authorities: _Optional[_Iterable[_Union[CertificateAuthority, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RevokeCertificateAuthorityRequest(_message.Message):
    __slots__ = ["certificate_authority", "reason"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: str
    reason: _common_pb2.RevocationReason
    def __init__(self, certificate_authority: _Optional[str] = ..., reason: _Optional[_Union[_common_pb2.RevocationReason, str]] = ...) -> None: ...

class RevokeCertificateAuthorityResponse(_message.Message):
    __slots__ = ["certificate_authority"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: CertificateAuthority
    def __init__(self, certificate_authority: _Optional[_Union[CertificateAuthority, _Mapping]] = ...) -> None: ...

class UpdateCertificateAuthorityRequest(_message.Message):
    __slots__ = ["certificate_authority", "update_mask"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: CertificateAuthority
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, certificate_authority: _Optional[_Union[CertificateAuthority, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateCertificateAuthorityResponse(_message.Message):
    __slots__ = ["certificate_authority"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: CertificateAuthority
    def __init__(self, certificate_authority: _Optional[_Union[CertificateAuthority, _Mapping]] = ...) -> None: ...

class CertificateAuthorityType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class CertificateAuthorityStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class CrlEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
