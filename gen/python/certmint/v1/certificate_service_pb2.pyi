from certmint.v1 import common_pb2 as _common_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CERTIFICATE_EVENT_TYPE_CURRENT: CertificateEventType
CERTIFICATE_EVENT_TYPE_EXPIRING: CertificateEventType
CERTIFICATE_EVENT_TYPE_ISSUED: CertificateEventType
CERTIFICATE_EVENT_TYPE_KEEPALIVE: CertificateEventType
CERTIFICATE_EVENT_TYPE_RENEWAL_FAILED: CertificateEventType
CERTIFICATE_EVENT_TYPE_RENEWED: CertificateEventType
CERTIFICATE_EVENT_TYPE_REVOKED: CertificateEventType
CERTIFICATE_EVENT_TYPE_UNSPECIFIED: CertificateEventType
CERTIFICATE_RENEWAL_STATE_AWAITING_APPROVAL: CertificateRenewalState
CERTIFICATE_RENEWAL_STATE_FAILED: CertificateRenewalState
CERTIFICATE_RENEWAL_STATE_IDLE: CertificateRenewalState
CERTIFICATE_RENEWAL_STATE_RENEWED: CertificateRenewalState
CERTIFICATE_RENEWAL_STATE_RENEWING: CertificateRenewalState
CERTIFICATE_RENEWAL_STATE_UNSPECIFIED: CertificateRenewalState
CERTIFICATE_REQUEST_STATUS_FAILED: CertificateRequestStatus
CERTIFICATE_REQUEST_STATUS_ISSUED: CertificateRequestStatus
CERTIFICATE_REQUEST_STATUS_PENDING: CertificateRequestStatus
CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL: CertificateRequestStatus
CERTIFICATE_REQUEST_STATUS_REJECTED: CertificateRequestStatus
CERTIFICATE_REQUEST_STATUS_UNSPECIFIED: CertificateRequestStatus
CERTIFICATE_STATUS_ACTIVE: CertificateStatus
CERTIFICATE_STATUS_EXPIRED: CertificateStatus
CERTIFICATE_STATUS_REVOKED: CertificateStatus
CERTIFICATE_STATUS_UNSPECIFIED: CertificateStatus
CERTIFICATE_VIEW_BASIC: CertificateView
CERTIFICATE_VIEW_FULL: CertificateView
CERTIFICATE_VIEW_UNSPECIFIED: CertificateView
DESCRIPTOR: _descriptor.FileDescriptor
RENEWAL_KEY_SOURCE_CSR: RenewalKeySource
RENEWAL_KEY_SOURCE_NEW: RenewalKeySource
RENEWAL_KEY_SOURCE_REUSE: RenewalKeySource
RENEWAL_KEY_SOURCE_UNSPECIFIED: RenewalKeySource

class ApproveCertificateRequestRequest(_message.Message):
    __slots__ = ["certificate_request_id", "comment"]
    CERTIFICATE_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    certificate_request_id: str
    comment: str
    def __init__(self, certificate_request_id: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class ApproveCertificateRequestResponse(_message.Message):
    __slots__ = ["certificate_request"]
    CERTIFICATE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    certificate_request: CertificateRequest
    def __init__(self, certificate_request: _Optional[_Union[CertificateRequest, _Mapping]] = ...) -> None: ...

class CaCertificateOptions(_message.Message):
    __slots__ = ["max_path_length"]
    MAX_PATH_LENGTH_FIELD_NUMBER: _ClassVar[int]
    max_path_length: int
    def __init__(self, max_path_length: _Optional[int] = ...) -> None: ...

class Certificate(_message.Message):
    __slots__ = ["certificate_authority_id", "certificate_chain_pem", "certificate_pem", "certificate_profile_id", "certificate_request_id", "create_time", "extended_key_usages", "fingerprint_sha256", "id", "key_algorithm", "key_usages", "last_renewal_error", "next_renewal_attempt_time", "not_after", "not_before", "owner_access_token_id", "renewal_failures", "renewal_state", "renewed_by_certificate_id", "renewed_from_certificate_id", "revocation_reason", "revoke_time", "serial_number", "signature_algorithm", "status", "subject", "subject_alternative_names"]
    CERTIFICATE_AUTHORITY_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_CHAIN_PEM_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXTENDED_KEY_USAGES_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_SHA256_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    KEY_USAGES_FIELD_NUMBER: _ClassVar[int]
    LAST_RENEWAL_ERROR_FIELD_NUMBER: _ClassVar[int]
    NEXT_RENEWAL_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    OWNER_ACCESS_TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    RENEWAL_FAILURES_FIELD_NUMBER: _ClassVar[int]
    RENEWAL_STATE_FIELD_NUMBER: _ClassVar[int]
    RENEWED_BY_CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    RENEWED_FROM_CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_REASON_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ALTERNATIVE_NAMES_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    certificate_authority_id: str
    certificate_chain_pem: _containers.RepeatedScalarFieldContainer[str]
    certificate_pem: str
    certificate_profile_id: str
    certificate_request_id: str
    create_time: _timestamp_pb2.Timestamp
    extended_key_usages: _containers.RepeatedScalarFieldContainer[_common_pb2.ExtendedKeyUsage]
    fingerprint_sha256: str
    id: str
    key_algorithm: _common_pb2.KeyAlgorithm
    key_usages: _containers.RepeatedScalarFieldContainer[_common_pb2.KeyUsage]
    last_renewal_error: _status_pb2.Status
    next_renewal_attempt_time: _timestamp_pb2.Timestamp
    not_after: _timestamp_pb2.Timestamp
    not_before: _timestamp_pb2.Timestamp
    owner_access_token_id: str
    renewal_failures: int
    renewal_state: CertificateRenewalState
    renewed_by_certificate_id: str
    renewed_from_certificate_id: str
    revocation_reason: _common_pb2.RevocationReason
    revoke_time: _timestamp_pb2.Timestamp
    serial_number: str
    signature_algorithm: _common_pb2.SignatureAlgorithm
    status: CertificateStatus
    subject: _common_pb2.Subject
    subject_alternative_names: _common_pb2.SubjectAlternativeNames
    def __init__(self, id: _Optional[str] = ..., serial_number: _Optional[str] = ..., status: _Optional[_Union[CertificateStatus, str]] = ..., certificate_authority_id: _Optional[str] = ..., certificate_profile_id: _Optional[str] = ..., certificate_request_id: _Optional[str] = ..., subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., subject_alternative_names: _Optional[_Union[_common_pb2.SubjectAlternativeNames, _Mapping]] = ..., key_algorithm: _Optional[_Union[_common_pb2.KeyAlgorithm, str]] = ..., signature_algorithm: _Optional[_Union[_common_pb2.SignatureAlgorithm, str]] = ..., key_usages: _Optional[_Iterable[_Union[_common_pb2.KeyUsage, str]]] = ..., extended_key_usages: _Optional[_Iterable[_Union[_common_pb2.ExtendedKeyUsage, str]]] = ..., not_before: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., fingerprint_sha256: _Optional[str] = ..., certificate_pem: _Optional[str] = ..., certificate_chain_pem: _Optional[_Iterable[str]] = ..., revoke_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revocation_reason: _Optional[_Union[_common_pb2.RevocationReason, str]] = ..., renewed_from_certificate_id: _Optional[str] = ..., renewed_by_certificate_id: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., owner_access_token_id: _Optional[str] = ..., renewal_state: _Optional[_Union[CertificateRenewalState, str]] = ..., last_renewal_error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., renewal_failures: _Optional[int] = ..., next_renewal_attempt_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CertificateAttributes(_message.Message):
    __slots__ = ["key_algorithm", "subject", "subject_alternative_names"]
    KEY_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ALTERNATIVE_NAMES_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    key_algorithm: _common_pb2.KeyAlgorithm
    subject: _common_pb2.Subject
    subject_alternative_names: _common_pb2.SubjectAlternativeNames
    def __init__(self, subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., subject_alternative_names: _Optional[_Union[_common_pb2.SubjectAlternativeNames, _Mapping]] = ..., key_algorithm: _Optional[_Union[_common_pb2.KeyAlgorithm, str]] = ...) -> None: ...

class CertificateRequest(_message.Message):
    __slots__ = ["certificate_id", "certificate_profile_id", "create_time", "error", "id", "renewal_of_certificate_id", "request_id", "requester", "status", "subject", "subject_alternative_names", "update_time"]
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    RENEWAL_OF_CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ALTERNATIVE_NAMES_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    certificate_id: str
    certificate_profile_id: str
    create_time: _timestamp_pb2.Timestamp
    error: _status_pb2.Status
    id: str
    renewal_of_certificate_id: str
    request_id: str
    requester: str
    status: CertificateRequestStatus
    subject: _common_pb2.Subject
    subject_alternative_names: _common_pb2.SubjectAlternativeNames
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., status: _Optional[_Union[CertificateRequestStatus, str]] = ..., certificate_profile_id: _Optional[str] = ..., request_id: _Optional[str] = ..., subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., subject_alternative_names: _Optional[_Union[_common_pb2.SubjectAlternativeNames, _Mapping]] = ..., certificate_id: _Optional[str] = ..., renewal_of_certificate_id: _Optional[str] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., requester: _Optional[str] = ...) -> None: ...

class GetCertificateRequest(_message.Message):
    __slots__ = ["certificate"]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: str
    def __init__(self, certificate: _Optional[str] = ...) -> None: ...

class GetCertificateResponse(_message.Message):
    __slots__ = ["certificate"]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: Certificate
    def __init__(self, certificate: _Optional[_Union[Certificate, _Mapping]] = ...) -> None: ...

class GetCurrentCertificateRequest(_message.Message):
    __slots__ = ["certificate"]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: str
    def __init__(self, certificate: _Optional[str] = ...) -> None: ...

class GetCurrentCertificateResponse(_message.Message):
    __slots__ = ["certificate"]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: Certificate
    def __init__(self, certificate: _Optional[_Union[Certificate, _Mapping]] = ...) -> None: ...

class GetRequestStatusRequest(_message.Message):
    __slots__ = ["certificate_request_id"]
    CERTIFICATE_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    certificate_request_id: str
    def __init__(self, certificate_request_id: _Optional[str] = ...) -> None: ...

class GetRequestStatusResponse(_message.Message):
    __slots__ = ["certificate", "certificate_request", "private_key_pem"]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    certificate: IssuedCertificate
    certificate_request: CertificateRequest
    private_key_pem: str
    def __init__(self, certificate_request: _Optional[_Union[CertificateRequest, _Mapping]] = ..., certificate: _Optional[_Union[IssuedCertificate, _Mapping]] = ..., private_key_pem: _Optional[str] = ...) -> None: ...

class IssueCertificateRequest(_message.Message):
    __slots__ = ["attributes", "ca_certificate", "certificate_profile", "csr_pem", "extended_key_usages", "key_usages", "request_id", "signature_algorithm", "ttl", "validate_only"]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CA_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    EXTENDED_KEY_USAGES_FIELD_NUMBER: _ClassVar[int]
    KEY_USAGES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    attributes: CertificateAttributes
    ca_certificate: CaCertificateOptions
    certificate_profile: str
    csr_pem: str
    extended_key_usages: _containers.RepeatedScalarFieldContainer[_common_pb2.ExtendedKeyUsage]
    key_usages: _containers.RepeatedScalarFieldContainer[_common_pb2.KeyUsage]
    request_id: str
    signature_algorithm: _common_pb2.SignatureAlgorithm
    ttl: _duration_pb2.Duration
    validate_only: bool
    def __init__(self, certificate_profile: _Optional[str] = ..., request_id: _Optional[str] = ..., csr_pem: _Optional[str] = ..., attributes: _Optional[_Union[CertificateAttributes, _Mapping]] = ..., signature_algorithm: _Optional[_Union[_common_pb2.SignatureAlgorithm, str]] = ..., key_usages: _Optional[_Iterable[_Union[_common_pb2.KeyUsage, str]]] = ..., extended_key_usages: _Optional[_Iterable[_Union[_common_pb2.ExtendedKeyUsage, str]]] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., validate_only: bool = ..., ca_certificate: _Optional[_Union[CaCertificateOptions, _Mapping]] = ...) -> None: ...

class IssueCertificateResponse(_message.Message):
    __slots__ = ["certificate", "certificate_request_id", "private_key_pem", "status"]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    certificate: IssuedCertificate
    certificate_request_id: str
    private_key_pem: str
    status: CertificateRequestStatus
    def __init__(self, certificate_request_id: _Optional[str] = ..., status: _Optional[_Union[CertificateRequestStatus, str]] = ..., certificate: _Optional[_Union[IssuedCertificate, _Mapping]] = ..., private_key_pem: _Optional[str] = ...) -> None: ...

class IssuedCertificate(_message.Message):
    __slots__ = ["certificate_chain_pem", "certificate_id", "certificate_pem", "issuing_ca_certificate_pem", "not_after", "not_before", "serial_number"]
    CERTIFICATE_CHAIN_PEM_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    ISSUING_CA_CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    certificate_chain_pem: _containers.RepeatedScalarFieldContainer[str]
    certificate_id: str
    certificate_pem: str
    issuing_ca_certificate_pem: str
    not_after: _timestamp_pb2.Timestamp
    not_before: _timestamp_pb2.Timestamp
    serial_number: str
    def __init__(self, certificate_id: _Optional[str] = ..., certificate_pem: _Optional[str] = ..., certificate_chain_pem: _Optional[_Iterable[str]] = ..., issuing_ca_certificate_pem: _Optional[str] = ..., serial_number: _Optional[str] = ..., not_before: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListCertificateRequestsRequest(_message.Message):
    __slots__ = ["certificate_profile", "page_size", "page_token", "status"]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    certificate_profile: str
    page_size: int
    page_token: str
    status: CertificateRequestStatus
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., status: _Optional[_Union[CertificateRequestStatus, str]] = ..., certificate_profile: _Optional[str] = ...) -> None: ...

class ListCertificateRequestsResponse(_message.Message):
    __slots__ = ["certificate_requests", "next_page_token"]
    CERTIFICATE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    certificate_requests: _containers.RepeatedCompositeFieldContainer[CertificateRequest]
    next_page_token: str
    def __init__(self, certificate_requests: _Optional[_Iterable[_Union[CertificateRequest, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListCertificatesRequest(_message.Message):
    __slots__ = ["certificate_authority", "certificate_profile", "expires_before", "name_contains", "page_size", "page_token", "status", "view"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_BEFORE_FIELD_NUMBER: _ClassVar[int]
    NAME_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: str
    certificate_profile: str
    expires_before: _timestamp_pb2.Timestamp
    name_contains: str
    page_size: int
    page_token: str
    status: CertificateStatus
    view: CertificateView
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., certificate_profile: _Optional[str] = ..., certificate_authority: _Optional[str] = ..., status: _Optional[_Union[CertificateStatus, str]] = ..., expires_before: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., name_contains: _Optional[str] = ..., view: _Optional[_Union[CertificateView, str]] = ...) -> None: ...

class ListCertificatesResponse(_message.Message):
    __slots__ = ["certificates", "next_page_token"]
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    certificates: _containers.RepeatedCompositeFieldContainer[Certificate]
    next_page_token: str
    def __init__(self, certificates: _Optional[_Iterable[_Union[Certificate, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RejectCertificateRequestRequest(_message.Message):
    __slots__ = ["certificate_request_id", "reason"]
    CERTIFICATE_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    certificate_request_id: str
    reason: str
    def __init__(self, certificate_request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectCertificateRequestResponse(_message.Message):
    __slots__ = ["certificate_request"]
    CERTIFICATE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    certificate_request: CertificateRequest
    def __init__(self, certificate_request: _Optional[_Union[CertificateRequest, _Mapping]] = ...) -> None: ...

class RenewCertificateRequest(_message.Message):
    __slots__ = ["certificate_id", "csr_pem", "key_algorithm", "key_source", "request_id", "ttl", "validate_only"]
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    KEY_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    KEY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    certificate_id: str
    csr_pem: str
    key_algorithm: _common_pb2.KeyAlgorithm
    key_source: RenewalKeySource
    request_id: str
    ttl: _duration_pb2.Duration
    validate_only: bool
    def __init__(self, certificate_id: _Optional[str] = ..., request_id: _Optional[str] = ..., key_source: _Optional[_Union[RenewalKeySource, str]] = ..., csr_pem: _Optional[str] = ..., key_algorithm: _Optional[_Union[_common_pb2.KeyAlgorithm, str]] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., validate_only: bool = ...) -> None: ...

class RenewCertificateResponse(_message.Message):
    __slots__ = ["certificate", "certificate_request_id", "private_key_pem", "status"]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    certificate: IssuedCertificate
    certificate_request_id: str
    private_key_pem: str
    status: CertificateRequestStatus
    def __init__(self, certificate_request_id: _Optional[str] = ..., status: _Optional[_Union[CertificateRequestStatus, str]] = ..., certificate: _Optional[_Union[IssuedCertificate, _Mapping]] = ..., private_key_pem: _Optional[str] = ...) -> None: ...

class RevokeCertificateRequest(_message.Message):
    __slots__ = ["certificate", "reason"]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    certificate: str
    reason: _common_pb2.RevocationReason
    def __init__(self, certificate: _Optional[str] = ..., reason: _Optional[_Union[_common_pb2.RevocationReason, str]] = ...) -> None: ...

class RevokeCertificateResponse(_message.Message):
    __slots__ = ["certificate"]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: Certificate
    def __init__(self, certificate: _Optional[_Union[Certificate, _Mapping]] = ...) -> None: ...

class WatchCertificatesRequest(_message.Message):
    __slots__ = ["after_cursor", "certificate_id", "certificate_profile"]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    after_cursor: str
    certificate_id: str
    certificate_profile: str
    def __init__(self, certificate_id: _Optional[str] = ..., certificate_profile: _Optional[str] = ..., after_cursor: _Optional[str] = ...) -> None: ...

class WatchCertificatesResponse(_message.Message):
    __slots__ = ["certificate", "cursor", "error", "event_time", "issuing_certificate_authority_pem", "previous_certificate_id", "private_key_pem", "type"]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    ISSUING_CERTIFICATE_AUTHORITY_PEM_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    certificate: Certificate
    cursor: str
    error: _status_pb2.Status
    event_time: _timestamp_pb2.Timestamp
    issuing_certificate_authority_pem: str
    previous_certificate_id: str
    private_key_pem: str
    type: CertificateEventType
    def __init__(self, cursor: _Optional[str] = ..., type: _Optional[_Union[CertificateEventType, str]] = ..., event_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., certificate: _Optional[_Union[Certificate, _Mapping]] = ..., previous_certificate_id: _Optional[str] = ..., private_key_pem: _Optional[str] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., issuing_certificate_authority_pem: _Optional[str] = ...) -> None: ...

class CertificateRequestStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class CertificateStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class CertificateView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RenewalKeySource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class CertificateRenewalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class CertificateEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
