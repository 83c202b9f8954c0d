from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
EXTENDED_KEY_USAGE_CLIENT_AUTH: ExtendedKeyUsage
EXTENDED_KEY_USAGE_CODE_SIGNING: ExtendedKeyUsage
EXTENDED_KEY_USAGE_EMAIL_PROTECTION: ExtendedKeyUsage
EXTENDED_KEY_USAGE_OCSP_SIGNING: ExtendedKeyUsage
EXTENDED_KEY_USAGE_SERVER_AUTH: ExtendedKeyUsage
EXTENDED_KEY_USAGE_TIME_STAMPING: ExtendedKeyUsage
EXTENDED_KEY_USAGE_UNSPECIFIED: ExtendedKeyUsage
KEY_ALGORITHM_EC_P256: KeyAlgorithm
KEY_ALGORITHM_EC_P384: KeyAlgorithm
KEY_ALGORITHM_ED25519: KeyAlgorithm
KEY_ALGORITHM_RSA_2048: KeyAlgorithm
KEY_ALGORITHM_RSA_3072: KeyAlgorithm
KEY_ALGORITHM_RSA_4096: KeyAlgorithm
KEY_ALGORITHM_UNSPECIFIED: KeyAlgorithm
KEY_USAGE_CONTENT_COMMITMENT: KeyUsage
KEY_USAGE_CRL_SIGN: KeyUsage
KEY_USAGE_DATA_ENCIPHERMENT: KeyUsage
KEY_USAGE_DECIPHER_ONLY: KeyUsage
KEY_USAGE_DIGITAL_SIGNATURE: KeyUsage
KEY_USAGE_ENCIPHER_ONLY: KeyUsage
KEY_USAGE_KEY_AGREEMENT: KeyUsage
KEY_USAGE_KEY_CERT_SIGN: KeyUsage
KEY_USAGE_KEY_ENCIPHERMENT: KeyUsage
KEY_USAGE_UNSPECIFIED: KeyUsage
REVOCATION_REASON_AA_COMPROMISE: RevocationReason
REVOCATION_REASON_AFFILIATION_CHANGED: RevocationReason
REVOCATION_REASON_CA_COMPROMISE: RevocationReason
REVOCATION_REASON_CERTIFICATE_HOLD: RevocationReason
REVOCATION_REASON_CESSATION_OF_OPERATION: RevocationReason
REVOCATION_REASON_KEY_COMPROMISE: RevocationReason
REVOCATION_REASON_PRIVILEGE_WITHDRAWN: RevocationReason
REVOCATION_REASON_REMOVE_FROM_CRL: RevocationReason
REVOCATION_REASON_SUPERSEDED: RevocationReason
REVOCATION_REASON_UNSPECIFIED: RevocationReason
SIGNATURE_ALGORITHM_ECDSA_WITH_SHA256: SignatureAlgorithm
SIGNATURE_ALGORITHM_ECDSA_WITH_SHA384: SignatureAlgorithm
SIGNATURE_ALGORITHM_ECDSA_WITH_SHA512: SignatureAlgorithm
SIGNATURE_ALGORITHM_ED25519: SignatureAlgorithm
SIGNATURE_ALGORITHM_SHA256_WITH_RSA: SignatureAlgorithm
SIGNATURE_ALGORITHM_SHA384_WITH_RSA: SignatureAlgorithm
SIGNATURE_ALGORITHM_SHA512_WITH_RSA: SignatureAlgorithm
SIGNATURE_ALGORITHM_UNSPECIFIED: SignatureAlgorithm

class GeneralSubtrees(_message.Message):
    __slots__ = ["dns_names", "email_addresses", "ip_ranges", "uri_hosts"]
    DNS_NAMES_FIELD_NUMBER: _ClassVar[int]
    EMAIL_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    IP_RANGES_FIELD_NUMBER: _ClassVar[int]
    URI_HOSTS_FIELD_NUMBER: _ClassVar[int]
    dns_names: _containers.RepeatedScalarFieldContainer[str]
    email_addresses: _containers.RepeatedScalarFieldContainer[str]
    ip_ranges: _containers.RepeatedScalarFieldContainer[str]
    uri_hosts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, dns_names: _Optional[_Iterable[str]] = ..., ip_ranges: _Optional[_Iterable[str]] = ..., email_addresses: _Optional[_Iterable[str]] = ..., uri_hosts: _Optional[_Iterable[str]] = ...) -> None: ...

class NameConstraints(_message.Message):
    __slots__ = ["excluded", "permitted"]
    EXCLUDED_FIELD_NUMBER: _ClassVar[int]
    PERMITTED_FIELD_NUMBER: _ClassVar[int]
    excluded: GeneralSubtrees
    permitted: GeneralSubtrees
    def __init__(self, permitted: _Optional[_Union[GeneralSubtrees, _Mapping]] = ..., excluded: _Optional[_Union[GeneralSubtrees, _Mapping]] = ...) -> None: ...

class Subject(_message.Message):
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
    common_name: str
    country: str
    email_address: str
    locality: str
    organization: _containers.RepeatedScalarFieldContainer[str]
    organizational_unit: _containers.RepeatedScalarFieldContainer[str]
    postal_code: str
    serial_number: str
    state: str
    street_address: str
    def __init__(self, country: _Optional[str] = ..., state: _Optional[str] = ..., locality: _Optional[str] = ..., organization: _Optional[_Iterable[str]] = ..., organizational_unit: _Optional[_Iterable[str]] = ..., common_name: _Optional[str] = ..., street_address: _Optional[str] = ..., postal_code: _Optional[str] = ..., serial_number: _Optional[str] = ..., email_address: _Optional[str] = ...) -> None: ...

class SubjectAlternativeNames(_message.Message):
    __slots__ = ["dns_names", "email_addresses", "ip_addresses", "uris"]
    DNS_NAMES_FIELD_NUMBER: _ClassVar[int]
    EMAIL_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    IP_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    URIS_FIELD_NUMBER: _ClassVar[int]
    dns_names: _containers.RepeatedScalarFieldContainer[str]
    email_addresses: _containers.RepeatedScalarFieldContainer[str]
    ip_addresses: _containers.RepeatedScalarFieldContainer[str]
    uris: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, dns_names: _Optional[_Iterable[str]] = ..., ip_addresses: _Optional[_Iterable[str]] = ..., email_addresses: _Optional[_Iterable[str]] = ..., uris: _Optional[_Iterable[str]] = ...) -> None: ...

class KeyAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SignatureAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class KeyUsage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ExtendedKeyUsage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RevocationReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
