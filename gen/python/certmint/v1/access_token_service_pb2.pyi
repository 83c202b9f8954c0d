from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ACCESS_TOKEN_STATE_ACTIVE: AccessTokenState
ACCESS_TOKEN_STATE_EXPIRED: AccessTokenState
ACCESS_TOKEN_STATE_REVOKED: AccessTokenState
ACCESS_TOKEN_STATE_UNSPECIFIED: AccessTokenState
CLIENT_CERTIFICATE_IDENTITY_TYPE_COMMON_NAME: ClientCertificateIdentityType
CLIENT_CERTIFICATE_IDENTITY_TYPE_DNS_SAN: ClientCertificateIdentityType
CLIENT_CERTIFICATE_IDENTITY_TYPE_UNSPECIFIED: ClientCertificateIdentityType
CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN: ClientCertificateIdentityType
DESCRIPTOR: _descriptor.FileDescriptor
ROLE_ADMIN: Role
ROLE_APPROVER: Role
ROLE_AUDITOR: Role
ROLE_ISSUER: Role
ROLE_UNSPECIFIED: Role

class AccessToken(_message.Message):
    __slots__ = ["certificate_profiles", "client_certificate_binding", "client_certificate_identity", "create_time", "creator", "description", "expire_time", "id", "revoke_time", "role", "slug", "state"]
    CERTIFICATE_PROFILES_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CERTIFICATE_BINDING_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CERTIFICATE_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    certificate_profiles: _containers.RepeatedScalarFieldContainer[str]
    client_certificate_binding: ClientCertificateBinding
    client_certificate_identity: str
    create_time: _timestamp_pb2.Timestamp
    creator: str
    description: str
    expire_time: _timestamp_pb2.Timestamp
    id: str
    revoke_time: _timestamp_pb2.Timestamp
    role: Role
    slug: str
    state: AccessTokenState
    def __init__(self, id: _Optional[str] = ..., slug: _Optional[str] = ..., description: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., certificate_profiles: _Optional[_Iterable[str]] = ..., client_certificate_identity: _Optional[str] = ..., state: _Optional[_Union[AccessTokenState, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ..., client_certificate_binding: _Optional[_Union[ClientCertificateBinding, _Mapping]] = ...) -> None: ...

class ClientCertificateBinding(_message.Message):
    __slots__ = ["certificate_authority", "identity_type", "issuer_certificate_sha256", "value"]
    CERTIFICATE_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    ISSUER_CERTIFICATE_SHA256_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    certificate_authority: str
    identity_type: ClientCertificateIdentityType
    issuer_certificate_sha256: str
    value: str
    def __init__(self, identity_type: _Optional[_Union[ClientCertificateIdentityType, str]] = ..., value: _Optional[str] = ..., certificate_authority: _Optional[str] = ..., issuer_certificate_sha256: _Optional[str] = ...) -> None: ...

class CreateAccessTokenRequest(_message.Message):
    __slots__ = ["access_token", "ttl"]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    access_token: AccessToken
    ttl: _duration_pb2.Duration
    def __init__(self, access_token: _Optional[_Union[AccessToken, _Mapping]] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CreateAccessTokenResponse(_message.Message):
    __slots__ = ["access_token", "secret"]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    access_token: AccessToken
    secret: str
    def __init__(self, access_token: _Optional[_Union[AccessToken, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class GetAccessTokenRequest(_message.Message):
    __slots__ = ["access_token"]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    def __init__(self, access_token: _Optional[str] = ...) -> None: ...

class GetAccessTokenResponse(_message.Message):
    __slots__ = ["access_token"]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    access_token: AccessToken
    def __init__(self, access_token: _Optional[_Union[AccessToken, _Mapping]] = ...) -> None: ...

class ListAccessTokensRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAccessTokensResponse(_message.Message):
    __slots__ = ["access_tokens", "next_page_token"]
    ACCESS_TOKENS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    access_tokens: _containers.RepeatedCompositeFieldContainer[AccessToken]
    next_page_token: str
    def __init__(self, access_tokens: _Optional[_Iterable[_Union[AccessToken, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RevokeAccessTokenRequest(_message.Message):
    __slots__ = ["access_token"]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    def __init__(self, access_token: _Optional[str] = ...) -> None: ...

class RevokeAccessTokenResponse(_message.Message):
    __slots__ = ["access_token"]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    access_token: AccessToken
    def __init__(self, access_token: _Optional[_Union[AccessToken, _Mapping]] = ...) -> None: ...

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class AccessTokenState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ClientCertificateIdentityType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
