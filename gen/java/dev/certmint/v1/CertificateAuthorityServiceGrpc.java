package dev.certmint.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * CertificateAuthorityService manages the certificate authorities that sign certificates:
 * internal roots, intermediates signed by a CA here, and intermediates whose certificate is
 * signed outside certmint. CA private keys never leave the server and are stored encrypted.
 * Changes need an admin access token (RevokeCertificateAuthority too); reads (Get, List,
 * GetCertificateRevocationList) an admin or auditor token.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: certmint/v1/certificate_authority_service.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class CertificateAuthorityServiceGrpc {

  private CertificateAuthorityServiceGrpc() {}

  public static final String SERVICE_NAME = "certmint.v1.CertificateAuthorityService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.CreateRootCertificateAuthorityRequest,
      dev.certmint.v1.CreateRootCertificateAuthorityResponse> getCreateRootCertificateAuthorityMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateRootCertificateAuthority",
      requestType = dev.certmint.v1.CreateRootCertificateAuthorityRequest.class,
      responseType = dev.certmint.v1.CreateRootCertificateAuthorityResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.CreateRootCertificateAuthorityRequest,
      dev.certmint.v1.CreateRootCertificateAuthorityResponse> getCreateRootCertificateAuthorityMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.CreateRootCertificateAuthorityRequest, dev.certmint.v1.CreateRootCertificateAuthorityResponse> getCreateRootCertificateAuthorityMethod;
    if ((getCreateRootCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getCreateRootCertificateAuthorityMethod) == null) {
      synchronized (CertificateAuthorityServiceGrpc.class) {
        if ((getCreateRootCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getCreateRootCertificateAuthorityMethod) == null) {
          CertificateAuthorityServiceGrpc.getCreateRootCertificateAuthorityMethod = getCreateRootCertificateAuthorityMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.CreateRootCertificateAuthorityRequest, dev.certmint.v1.CreateRootCertificateAuthorityResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateRootCertificateAuthority"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateRootCertificateAuthorityRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateRootCertificateAuthorityResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateAuthorityServiceMethodDescriptorSupplier("CreateRootCertificateAuthority"))
              .build();
        }
      }
    }
    return getCreateRootCertificateAuthorityMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest,
      dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse> getCreateIntermediateCertificateAuthorityMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateIntermediateCertificateAuthority",
      requestType = dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest.class,
      responseType = dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest,
      dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse> getCreateIntermediateCertificateAuthorityMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest, dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse> getCreateIntermediateCertificateAuthorityMethod;
    if ((getCreateIntermediateCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getCreateIntermediateCertificateAuthorityMethod) == null) {
      synchronized (CertificateAuthorityServiceGrpc.class) {
        if ((getCreateIntermediateCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getCreateIntermediateCertificateAuthorityMethod) == null) {
          CertificateAuthorityServiceGrpc.getCreateIntermediateCertificateAuthorityMethod = getCreateIntermediateCertificateAuthorityMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest, dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateIntermediateCertificateAuthority"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateAuthorityServiceMethodDescriptorSupplier("CreateIntermediateCertificateAuthority"))
              .build();
        }
      }
    }
    return getCreateIntermediateCertificateAuthorityMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest,
      dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse> getCreateExternalIntermediateCertificateAuthorityMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateExternalIntermediateCertificateAuthority",
      requestType = dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest.class,
      responseType = dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest,
      dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse> getCreateExternalIntermediateCertificateAuthorityMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest, dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse> getCreateExternalIntermediateCertificateAuthorityMethod;
    if ((getCreateExternalIntermediateCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getCreateExternalIntermediateCertificateAuthorityMethod) == null) {
      synchronized (CertificateAuthorityServiceGrpc.class) {
        if ((getCreateExternalIntermediateCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getCreateExternalIntermediateCertificateAuthorityMethod) == null) {
          CertificateAuthorityServiceGrpc.getCreateExternalIntermediateCertificateAuthorityMethod = getCreateExternalIntermediateCertificateAuthorityMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest, dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateExternalIntermediateCertificateAuthority"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateAuthorityServiceMethodDescriptorSupplier("CreateExternalIntermediateCertificateAuthority"))
              .build();
        }
      }
    }
    return getCreateExternalIntermediateCertificateAuthorityMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.ImportCertificateAuthorityCertificateRequest,
      dev.certmint.v1.ImportCertificateAuthorityCertificateResponse> getImportCertificateAuthorityCertificateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ImportCertificateAuthorityCertificate",
      requestType = dev.certmint.v1.ImportCertificateAuthorityCertificateRequest.class,
      responseType = dev.certmint.v1.ImportCertificateAuthorityCertificateResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.ImportCertificateAuthorityCertificateRequest,
      dev.certmint.v1.ImportCertificateAuthorityCertificateResponse> getImportCertificateAuthorityCertificateMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.ImportCertificateAuthorityCertificateRequest, dev.certmint.v1.ImportCertificateAuthorityCertificateResponse> getImportCertificateAuthorityCertificateMethod;
    if ((getImportCertificateAuthorityCertificateMethod = CertificateAuthorityServiceGrpc.getImportCertificateAuthorityCertificateMethod) == null) {
      synchronized (CertificateAuthorityServiceGrpc.class) {
        if ((getImportCertificateAuthorityCertificateMethod = CertificateAuthorityServiceGrpc.getImportCertificateAuthorityCertificateMethod) == null) {
          CertificateAuthorityServiceGrpc.getImportCertificateAuthorityCertificateMethod = getImportCertificateAuthorityCertificateMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.ImportCertificateAuthorityCertificateRequest, dev.certmint.v1.ImportCertificateAuthorityCertificateResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ImportCertificateAuthorityCertificate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ImportCertificateAuthorityCertificateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ImportCertificateAuthorityCertificateResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateAuthorityServiceMethodDescriptorSupplier("ImportCertificateAuthorityCertificate"))
              .build();
        }
      }
    }
    return getImportCertificateAuthorityCertificateMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateAuthorityRequest,
      dev.certmint.v1.GetCertificateAuthorityResponse> getGetCertificateAuthorityMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetCertificateAuthority",
      requestType = dev.certmint.v1.GetCertificateAuthorityRequest.class,
      responseType = dev.certmint.v1.GetCertificateAuthorityResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateAuthorityRequest,
      dev.certmint.v1.GetCertificateAuthorityResponse> getGetCertificateAuthorityMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateAuthorityRequest, dev.certmint.v1.GetCertificateAuthorityResponse> getGetCertificateAuthorityMethod;
    if ((getGetCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getGetCertificateAuthorityMethod) == null) {
      synchronized (CertificateAuthorityServiceGrpc.class) {
        if ((getGetCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getGetCertificateAuthorityMethod) == null) {
          CertificateAuthorityServiceGrpc.getGetCertificateAuthorityMethod = getGetCertificateAuthorityMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.GetCertificateAuthorityRequest, dev.certmint.v1.GetCertificateAuthorityResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetCertificateAuthority"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCertificateAuthorityRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCertificateAuthorityResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateAuthorityServiceMethodDescriptorSupplier("GetCertificateAuthority"))
              .build();
        }
      }
    }
    return getGetCertificateAuthorityMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificateAuthoritiesRequest,
      dev.certmint.v1.ListCertificateAuthoritiesResponse> getListCertificateAuthoritiesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListCertificateAuthorities",
      requestType = dev.certmint.v1.ListCertificateAuthoritiesRequest.class,
      responseType = dev.certmint.v1.ListCertificateAuthoritiesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificateAuthoritiesRequest,
      dev.certmint.v1.ListCertificateAuthoritiesResponse> getListCertificateAuthoritiesMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificateAuthoritiesRequest, dev.certmint.v1.ListCertificateAuthoritiesResponse> getListCertificateAuthoritiesMethod;
    if ((getListCertificateAuthoritiesMethod = CertificateAuthorityServiceGrpc.getListCertificateAuthoritiesMethod) == null) {
      synchronized (CertificateAuthorityServiceGrpc.class) {
        if ((getListCertificateAuthoritiesMethod = CertificateAuthorityServiceGrpc.getListCertificateAuthoritiesMethod) == null) {
          CertificateAuthorityServiceGrpc.getListCertificateAuthoritiesMethod = getListCertificateAuthoritiesMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.ListCertificateAuthoritiesRequest, dev.certmint.v1.ListCertificateAuthoritiesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListCertificateAuthorities"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListCertificateAuthoritiesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListCertificateAuthoritiesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateAuthorityServiceMethodDescriptorSupplier("ListCertificateAuthorities"))
              .build();
        }
      }
    }
    return getListCertificateAuthoritiesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.UpdateCertificateAuthorityRequest,
      dev.certmint.v1.UpdateCertificateAuthorityResponse> getUpdateCertificateAuthorityMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateCertificateAuthority",
      requestType = dev.certmint.v1.UpdateCertificateAuthorityRequest.class,
      responseType = dev.certmint.v1.UpdateCertificateAuthorityResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.UpdateCertificateAuthorityRequest,
      dev.certmint.v1.UpdateCertificateAuthorityResponse> getUpdateCertificateAuthorityMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.UpdateCertificateAuthorityRequest, dev.certmint.v1.UpdateCertificateAuthorityResponse> getUpdateCertificateAuthorityMethod;
    if ((getUpdateCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getUpdateCertificateAuthorityMethod) == null) {
      synchronized (CertificateAuthorityServiceGrpc.class) {
        if ((getUpdateCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getUpdateCertificateAuthorityMethod) == null) {
          CertificateAuthorityServiceGrpc.getUpdateCertificateAuthorityMethod = getUpdateCertificateAuthorityMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.UpdateCertificateAuthorityRequest, dev.certmint.v1.UpdateCertificateAuthorityResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateCertificateAuthority"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.UpdateCertificateAuthorityRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.UpdateCertificateAuthorityResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateAuthorityServiceMethodDescriptorSupplier("UpdateCertificateAuthority"))
              .build();
        }
      }
    }
    return getUpdateCertificateAuthorityMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateRevocationListRequest,
      dev.certmint.v1.GetCertificateRevocationListResponse> getGetCertificateRevocationListMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetCertificateRevocationList",
      requestType = dev.certmint.v1.GetCertificateRevocationListRequest.class,
      responseType = dev.certmint.v1.GetCertificateRevocationListResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateRevocationListRequest,
      dev.certmint.v1.GetCertificateRevocationListResponse> getGetCertificateRevocationListMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateRevocationListRequest, dev.certmint.v1.GetCertificateRevocationListResponse> getGetCertificateRevocationListMethod;
    if ((getGetCertificateRevocationListMethod = CertificateAuthorityServiceGrpc.getGetCertificateRevocationListMethod) == null) {
      synchronized (CertificateAuthorityServiceGrpc.class) {
        if ((getGetCertificateRevocationListMethod = CertificateAuthorityServiceGrpc.getGetCertificateRevocationListMethod) == null) {
          CertificateAuthorityServiceGrpc.getGetCertificateRevocationListMethod = getGetCertificateRevocationListMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.GetCertificateRevocationListRequest, dev.certmint.v1.GetCertificateRevocationListResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetCertificateRevocationList"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCertificateRevocationListRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCertificateRevocationListResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateAuthorityServiceMethodDescriptorSupplier("GetCertificateRevocationList"))
              .build();
        }
      }
    }
    return getGetCertificateRevocationListMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.DeleteCertificateAuthorityRequest,
      dev.certmint.v1.DeleteCertificateAuthorityResponse> getDeleteCertificateAuthorityMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteCertificateAuthority",
      requestType = dev.certmint.v1.DeleteCertificateAuthorityRequest.class,
      responseType = dev.certmint.v1.DeleteCertificateAuthorityResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.DeleteCertificateAuthorityRequest,
      dev.certmint.v1.DeleteCertificateAuthorityResponse> getDeleteCertificateAuthorityMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.DeleteCertificateAuthorityRequest, dev.certmint.v1.DeleteCertificateAuthorityResponse> getDeleteCertificateAuthorityMethod;
    if ((getDeleteCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getDeleteCertificateAuthorityMethod) == null) {
      synchronized (CertificateAuthorityServiceGrpc.class) {
        if ((getDeleteCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getDeleteCertificateAuthorityMethod) == null) {
          CertificateAuthorityServiceGrpc.getDeleteCertificateAuthorityMethod = getDeleteCertificateAuthorityMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.DeleteCertificateAuthorityRequest, dev.certmint.v1.DeleteCertificateAuthorityResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteCertificateAuthority"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.DeleteCertificateAuthorityRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.DeleteCertificateAuthorityResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateAuthorityServiceMethodDescriptorSupplier("DeleteCertificateAuthority"))
              .build();
        }
      }
    }
    return getDeleteCertificateAuthorityMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.RevokeCertificateAuthorityRequest,
      dev.certmint.v1.RevokeCertificateAuthorityResponse> getRevokeCertificateAuthorityMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RevokeCertificateAuthority",
      requestType = dev.certmint.v1.RevokeCertificateAuthorityRequest.class,
      responseType = dev.certmint.v1.RevokeCertificateAuthorityResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.RevokeCertificateAuthorityRequest,
      dev.certmint.v1.RevokeCertificateAuthorityResponse> getRevokeCertificateAuthorityMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.RevokeCertificateAuthorityRequest, dev.certmint.v1.RevokeCertificateAuthorityResponse> getRevokeCertificateAuthorityMethod;
    if ((getRevokeCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getRevokeCertificateAuthorityMethod) == null) {
      synchronized (CertificateAuthorityServiceGrpc.class) {
        if ((getRevokeCertificateAuthorityMethod = CertificateAuthorityServiceGrpc.getRevokeCertificateAuthorityMethod) == null) {
          CertificateAuthorityServiceGrpc.getRevokeCertificateAuthorityMethod = getRevokeCertificateAuthorityMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.RevokeCertificateAuthorityRequest, dev.certmint.v1.RevokeCertificateAuthorityResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RevokeCertificateAuthority"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RevokeCertificateAuthorityRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RevokeCertificateAuthorityResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateAuthorityServiceMethodDescriptorSupplier("RevokeCertificateAuthority"))
              .build();
        }
      }
    }
    return getRevokeCertificateAuthorityMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CertificateAuthorityServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificateAuthorityServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificateAuthorityServiceStub>() {
        @java.lang.Override
        public CertificateAuthorityServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificateAuthorityServiceStub(channel, callOptions);
        }
      };
    return CertificateAuthorityServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CertificateAuthorityServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificateAuthorityServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificateAuthorityServiceBlockingStub>() {
        @java.lang.Override
        public CertificateAuthorityServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificateAuthorityServiceBlockingStub(channel, callOptions);
        }
      };
    return CertificateAuthorityServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CertificateAuthorityServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificateAuthorityServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificateAuthorityServiceFutureStub>() {
        @java.lang.Override
        public CertificateAuthorityServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificateAuthorityServiceFutureStub(channel, callOptions);
        }
      };
    return CertificateAuthorityServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * CertificateAuthorityService manages the certificate authorities that sign certificates:
   * internal roots, intermediates signed by a CA here, and intermediates whose certificate is
   * signed outside certmint. CA private keys never leave the server and are stored encrypted.
   * Changes need an admin access token (RevokeCertificateAuthority too); reads (Get, List,
   * GetCertificateRevocationList) an admin or auditor token.
   * </pre>
   */
  public static abstract class CertificateAuthorityServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * CreateRootCertificateAuthority generates a key and a self-signed root CA certificate.
     * The CA is ACTIVE at once. Errors: INVALID_ARGUMENT for a bad subject, key or TTL;
     * ALREADY_EXISTS when the slug is taken.
     * </pre>
     */
    public void createRootCertificateAuthority(dev.certmint.v1.CreateRootCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateRootCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateRootCertificateAuthorityMethod(), responseObserver);
    }

    /**
     * <pre>
     * CreateIntermediateCertificateAuthority generates a key and has a CA in certmint sign the
     * intermediate's certificate. The parent must be ACTIVE and its path length must allow a
     * sub-CA (FAILED_PRECONDITION otherwise).
     * </pre>
     */
    public void createIntermediateCertificateAuthority(dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateIntermediateCertificateAuthorityMethod(), responseObserver);
    }

    /**
     * <pre>
     * CreateExternalIntermediateCertificateAuthority generates a key and returns a CSR for a CA
     * outside certmint to sign. The CA stays PENDING_CERTIFICATE until
     * ImportCertificateAuthorityCertificate supplies the signed certificate.
     * </pre>
     */
    public void createExternalIntermediateCertificateAuthority(dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateExternalIntermediateCertificateAuthorityMethod(), responseObserver);
    }

    /**
     * <pre>
     * ImportCertificateAuthorityCertificate activates a PENDING_CERTIFICATE CA with the
     * certificate signed outside. The certificate must match the CA's key, be a CA certificate
     * (basicConstraints cA=TRUE, keyCertSign) and chain to the trust anchors supplied.
     * </pre>
     */
    public void importCertificateAuthorityCertificate(dev.certmint.v1.ImportCertificateAuthorityCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ImportCertificateAuthorityCertificateResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getImportCertificateAuthorityCertificateMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetCertificateAuthority returns one CA by id or slug. NOT_FOUND when there is none.
     * </pre>
     */
    public void getCertificateAuthority(dev.certmint.v1.GetCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetCertificateAuthorityMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListCertificateAuthorities lists CAs, oldest first, a page at a time.
     * </pre>
     */
    public void listCertificateAuthorities(dev.certmint.v1.ListCertificateAuthoritiesRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificateAuthoritiesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListCertificateAuthoritiesMethod(), responseObserver);
    }

    /**
     * <pre>
     * UpdateCertificateAuthority changes the fields named in update_mask ("status",
     * "description", or "*" for both): enable or disable a CA. A DISABLED CA signs nothing.
     * ABORTED when etag is given and stale.
     * </pre>
     */
    public void updateCertificateAuthority(dev.certmint.v1.UpdateCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.UpdateCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateCertificateAuthorityMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetCertificateRevocationList returns the CA's current X.509 v2 CRL (RFC 5280 section 5)
     * listing every revoked, unexpired certificate it issued: the CRL the publication endpoint
     * serves, signed at most once per CERTMINT_CRL_CACHE_SECONDS and again after a revocation
     * (through any replica, within a second), each signing with the next crl_number.
     * </pre>
     */
    public void getCertificateRevocationList(dev.certmint.v1.GetCertificateRevocationListRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateRevocationListResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetCertificateRevocationListMethod(), responseObserver);
    }

    /**
     * <pre>
     * DeleteCertificateAuthority deletes a CA and its sealed key. FAILED_PRECONDITION
     * (PreconditionFailure naming each blocker) while a profile uses it, while a CA below it
     * exists, or once it has issued certificates (their CRL must stay available: disable the CA
     * instead). ABORTED when etag is given and stale.
     * </pre>
     */
    public void deleteCertificateAuthority(dev.certmint.v1.DeleteCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.DeleteCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteCertificateAuthorityMethod(), responseObserver);
    }

    /**
     * <pre>
     * RevokeCertificateAuthority revokes an intermediate CA signed by a CA in certmint, with an
     * RFC 5280 reason: its serial appears in its parent's next CRL, so relying parties that check
     * CRLs (e.g. `openssl verify -crl_check_all`) refuse every certificate below it. The CA, and
     * every CA below it, becomes DISABLED and signs nothing more; their CRLs are still served.
     * Revocation is final: UpdateCertificateAuthority cannot enable them again. Revoking a
     * revoked CA changes nothing and returns it as it is. Admin only; audited.
     * FAILED_PRECONDITION for a root (a trust anchor is on no CRL: remove it from the trust
     * stores and disable it) and for an external intermediate (its parent is outside certmint:
     * have that CA revoke it, and disable it here); INVALID_ARGUMENT for REMOVE_FROM_CRL and AA_COMPROMISE.
     * </pre>
     */
    public void revokeCertificateAuthority(dev.certmint.v1.RevokeCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRevokeCertificateAuthorityMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getCreateRootCertificateAuthorityMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.CreateRootCertificateAuthorityRequest,
                dev.certmint.v1.CreateRootCertificateAuthorityResponse>(
                  this, METHODID_CREATE_ROOT_CERTIFICATE_AUTHORITY)))
          .addMethod(
            getCreateIntermediateCertificateAuthorityMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest,
                dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse>(
                  this, METHODID_CREATE_INTERMEDIATE_CERTIFICATE_AUTHORITY)))
          .addMethod(
            getCreateExternalIntermediateCertificateAuthorityMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest,
                dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse>(
                  this, METHODID_CREATE_EXTERNAL_INTERMEDIATE_CERTIFICATE_AUTHORITY)))
          .addMethod(
            getImportCertificateAuthorityCertificateMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.ImportCertificateAuthorityCertificateRequest,
                dev.certmint.v1.ImportCertificateAuthorityCertificateResponse>(
                  this, METHODID_IMPORT_CERTIFICATE_AUTHORITY_CERTIFICATE)))
          .addMethod(
            getGetCertificateAuthorityMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.GetCertificateAuthorityRequest,
                dev.certmint.v1.GetCertificateAuthorityResponse>(
                  this, METHODID_GET_CERTIFICATE_AUTHORITY)))
          .addMethod(
            getListCertificateAuthoritiesMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.ListCertificateAuthoritiesRequest,
                dev.certmint.v1.ListCertificateAuthoritiesResponse>(
                  this, METHODID_LIST_CERTIFICATE_AUTHORITIES)))
          .addMethod(
            getUpdateCertificateAuthorityMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.UpdateCertificateAuthorityRequest,
                dev.certmint.v1.UpdateCertificateAuthorityResponse>(
                  this, METHODID_UPDATE_CERTIFICATE_AUTHORITY)))
          .addMethod(
            getGetCertificateRevocationListMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.GetCertificateRevocationListRequest,
                dev.certmint.v1.GetCertificateRevocationListResponse>(
                  this, METHODID_GET_CERTIFICATE_REVOCATION_LIST)))
          .addMethod(
            getDeleteCertificateAuthorityMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.DeleteCertificateAuthorityRequest,
                dev.certmint.v1.DeleteCertificateAuthorityResponse>(
                  this, METHODID_DELETE_CERTIFICATE_AUTHORITY)))
          .addMethod(
            getRevokeCertificateAuthorityMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.RevokeCertificateAuthorityRequest,
                dev.certmint.v1.RevokeCertificateAuthorityResponse>(
                  this, METHODID_REVOKE_CERTIFICATE_AUTHORITY)))
          .build();
    }
  }

  /**
   * <pre>
   * CertificateAuthorityService manages the certificate authorities that sign certificates:
   * internal roots, intermediates signed by a CA here, and intermediates whose certificate is
   * signed outside certmint. CA private keys never leave the server and are stored encrypted.
   * Changes need an admin access token (RevokeCertificateAuthority too); reads (Get, List,
   * GetCertificateRevocationList) an admin or auditor token.
   * </pre>
   */
  public static final class CertificateAuthorityServiceStub extends io.grpc.stub.AbstractAsyncStub<CertificateAuthorityServiceStub> {
    private CertificateAuthorityServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificateAuthorityServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificateAuthorityServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateRootCertificateAuthority generates a key and a self-signed root CA certificate.
     * The CA is ACTIVE at once. Errors: INVALID_ARGUMENT for a bad subject, key or TTL;
     * ALREADY_EXISTS when the slug is taken.
     * </pre>
     */
    public void createRootCertificateAuthority(dev.certmint.v1.CreateRootCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateRootCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateRootCertificateAuthorityMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * CreateIntermediateCertificateAuthority generates a key and has a CA in certmint sign the
     * intermediate's certificate. The parent must be ACTIVE and its path length must allow a
     * sub-CA (FAILED_PRECONDITION otherwise).
     * </pre>
     */
    public void createIntermediateCertificateAuthority(dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateIntermediateCertificateAuthorityMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * CreateExternalIntermediateCertificateAuthority generates a key and returns a CSR for a CA
     * outside certmint to sign. The CA stays PENDING_CERTIFICATE until
     * ImportCertificateAuthorityCertificate supplies the signed certificate.
     * </pre>
     */
    public void createExternalIntermediateCertificateAuthority(dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateExternalIntermediateCertificateAuthorityMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ImportCertificateAuthorityCertificate activates a PENDING_CERTIFICATE CA with the
     * certificate signed outside. The certificate must match the CA's key, be a CA certificate
     * (basicConstraints cA=TRUE, keyCertSign) and chain to the trust anchors supplied.
     * </pre>
     */
    public void importCertificateAuthorityCertificate(dev.certmint.v1.ImportCertificateAuthorityCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ImportCertificateAuthorityCertificateResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getImportCertificateAuthorityCertificateMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetCertificateAuthority returns one CA by id or slug. NOT_FOUND when there is none.
     * </pre>
     */
    public void getCertificateAuthority(dev.certmint.v1.GetCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetCertificateAuthorityMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListCertificateAuthorities lists CAs, oldest first, a page at a time.
     * </pre>
     */
    public void listCertificateAuthorities(dev.certmint.v1.ListCertificateAuthoritiesRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificateAuthoritiesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListCertificateAuthoritiesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * UpdateCertificateAuthority changes the fields named in update_mask ("status",
     * "description", or "*" for both): enable or disable a CA. A DISABLED CA signs nothing.
     * ABORTED when etag is given and stale.
     * </pre>
     */
    public void updateCertificateAuthority(dev.certmint.v1.UpdateCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.UpdateCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateCertificateAuthorityMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetCertificateRevocationList returns the CA's current X.509 v2 CRL (RFC 5280 section 5)
     * listing every revoked, unexpired certificate it issued: the CRL the publication endpoint
     * serves, signed at most once per CERTMINT_CRL_CACHE_SECONDS and again after a revocation
     * (through any replica, within a second), each signing with the next crl_number.
     * </pre>
     */
    public void getCertificateRevocationList(dev.certmint.v1.GetCertificateRevocationListRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateRevocationListResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetCertificateRevocationListMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * DeleteCertificateAuthority deletes a CA and its sealed key. FAILED_PRECONDITION
     * (PreconditionFailure naming each blocker) while a profile uses it, while a CA below it
     * exists, or once it has issued certificates (their CRL must stay available: disable the CA
     * instead). ABORTED when etag is given and stale.
     * </pre>
     */
    public void deleteCertificateAuthority(dev.certmint.v1.DeleteCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.DeleteCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteCertificateAuthorityMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RevokeCertificateAuthority revokes an intermediate CA signed by a CA in certmint, with an
     * RFC 5280 reason: its serial appears in its parent's next CRL, so relying parties that check
     * CRLs (e.g. `openssl verify -crl_check_all`) refuse every certificate below it. The CA, and
     * every CA below it, becomes DISABLED and signs nothing more; their CRLs are still served.
     * Revocation is final: UpdateCertificateAuthority cannot enable them again. Revoking a
     * revoked CA changes nothing and returns it as it is. Admin only; audited.
     * FAILED_PRECONDITION for a root (a trust anchor is on no CRL: remove it from the trust
     * stores and disable it) and for an external intermediate (its parent is outside certmint:
     * have that CA revoke it, and disable it here); INVALID_ARGUMENT for REMOVE_FROM_CRL and AA_COMPROMISE.
     * </pre>
     */
    public void revokeCertificateAuthority(dev.certmint.v1.RevokeCertificateAuthorityRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeCertificateAuthorityResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRevokeCertificateAuthorityMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * CertificateAuthorityService manages the certificate authorities that sign certificates:
   * internal roots, intermediates signed by a CA here, and intermediates whose certificate is
   * signed outside certmint. CA private keys never leave the server and are stored encrypted.
   * Changes need an admin access token (RevokeCertificateAuthority too); reads (Get, List,
   * GetCertificateRevocationList) an admin or auditor token.
   * </pre>
   */
  public static final class CertificateAuthorityServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<CertificateAuthorityServiceBlockingStub> {
    private CertificateAuthorityServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificateAuthorityServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificateAuthorityServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateRootCertificateAuthority generates a key and a self-signed root CA certificate.
     * The CA is ACTIVE at once. Errors: INVALID_ARGUMENT for a bad subject, key or TTL;
     * ALREADY_EXISTS when the slug is taken.
     * </pre>
     */
    public dev.certmint.v1.CreateRootCertificateAuthorityResponse createRootCertificateAuthority(dev.certmint.v1.CreateRootCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateRootCertificateAuthorityMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * CreateIntermediateCertificateAuthority generates a key and has a CA in certmint sign the
     * intermediate's certificate. The parent must be ACTIVE and its path length must allow a
     * sub-CA (FAILED_PRECONDITION otherwise).
     * </pre>
     */
    public dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse createIntermediateCertificateAuthority(dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateIntermediateCertificateAuthorityMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * CreateExternalIntermediateCertificateAuthority generates a key and returns a CSR for a CA
     * outside certmint to sign. The CA stays PENDING_CERTIFICATE until
     * ImportCertificateAuthorityCertificate supplies the signed certificate.
     * </pre>
     */
    public dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse createExternalIntermediateCertificateAuthority(dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateExternalIntermediateCertificateAuthorityMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ImportCertificateAuthorityCertificate activates a PENDING_CERTIFICATE CA with the
     * certificate signed outside. The certificate must match the CA's key, be a CA certificate
     * (basicConstraints cA=TRUE, keyCertSign) and chain to the trust anchors supplied.
     * </pre>
     */
    public dev.certmint.v1.ImportCertificateAuthorityCertificateResponse importCertificateAuthorityCertificate(dev.certmint.v1.ImportCertificateAuthorityCertificateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getImportCertificateAuthorityCertificateMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetCertificateAuthority returns one CA by id or slug. NOT_FOUND when there is none.
     * </pre>
     */
    public dev.certmint.v1.GetCertificateAuthorityResponse getCertificateAuthority(dev.certmint.v1.GetCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetCertificateAuthorityMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListCertificateAuthorities lists CAs, oldest first, a page at a time.
     * </pre>
     */
    public dev.certmint.v1.ListCertificateAuthoritiesResponse listCertificateAuthorities(dev.certmint.v1.ListCertificateAuthoritiesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListCertificateAuthoritiesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * UpdateCertificateAuthority changes the fields named in update_mask ("status",
     * "description", or "*" for both): enable or disable a CA. A DISABLED CA signs nothing.
     * ABORTED when etag is given and stale.
     * </pre>
     */
    public dev.certmint.v1.UpdateCertificateAuthorityResponse updateCertificateAuthority(dev.certmint.v1.UpdateCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateCertificateAuthorityMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetCertificateRevocationList returns the CA's current X.509 v2 CRL (RFC 5280 section 5)
     * listing every revoked, unexpired certificate it issued: the CRL the publication endpoint
     * serves, signed at most once per CERTMINT_CRL_CACHE_SECONDS and again after a revocation
     * (through any replica, within a second), each signing with the next crl_number.
     * </pre>
     */
    public dev.certmint.v1.GetCertificateRevocationListResponse getCertificateRevocationList(dev.certmint.v1.GetCertificateRevocationListRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetCertificateRevocationListMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * DeleteCertificateAuthority deletes a CA and its sealed key. FAILED_PRECONDITION
     * (PreconditionFailure naming each blocker) while a profile uses it, while a CA below it
     * exists, or once it has issued certificates (their CRL must stay available: disable the CA
     * instead). ABORTED when etag is given and stale.
     * </pre>
     */
    public dev.certmint.v1.DeleteCertificateAuthorityResponse deleteCertificateAuthority(dev.certmint.v1.DeleteCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteCertificateAuthorityMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RevokeCertificateAuthority revokes an intermediate CA signed by a CA in certmint, with an
     * RFC 5280 reason: its serial appears in its parent's next CRL, so relying parties that check
     * CRLs (e.g. `openssl verify -crl_check_all`) refuse every certificate below it. The CA, and
     * every CA below it, becomes DISABLED and signs nothing more; their CRLs are still served.
     * Revocation is final: UpdateCertificateAuthority cannot enable them again. Revoking a
     * revoked CA changes nothing and returns it as it is. Admin only; audited.
     * FAILED_PRECONDITION for a root (a trust anchor is on no CRL: remove it from the trust
     * stores and disable it) and for an external intermediate (its parent is outside certmint:
     * have that CA revoke it, and disable it here); INVALID_ARGUMENT for REMOVE_FROM_CRL and AA_COMPROMISE.
     * </pre>
     */
    public dev.certmint.v1.RevokeCertificateAuthorityResponse revokeCertificateAuthority(dev.certmint.v1.RevokeCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRevokeCertificateAuthorityMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * CertificateAuthorityService manages the certificate authorities that sign certificates:
   * internal roots, intermediates signed by a CA here, and intermediates whose certificate is
   * signed outside certmint. CA private keys never leave the server and are stored encrypted.
   * Changes need an admin access token (RevokeCertificateAuthority too); reads (Get, List,
   * GetCertificateRevocationList) an admin or auditor token.
   * </pre>
   */
  public static final class CertificateAuthorityServiceFutureStub extends io.grpc.stub.AbstractFutureStub<CertificateAuthorityServiceFutureStub> {
    private CertificateAuthorityServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificateAuthorityServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificateAuthorityServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateRootCertificateAuthority generates a key and a self-signed root CA certificate.
     * The CA is ACTIVE at once. Errors: INVALID_ARGUMENT for a bad subject, key or TTL;
     * ALREADY_EXISTS when the slug is taken.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.CreateRootCertificateAuthorityResponse> createRootCertificateAuthority(
        dev.certmint.v1.CreateRootCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateRootCertificateAuthorityMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * CreateIntermediateCertificateAuthority generates a key and has a CA in certmint sign the
     * intermediate's certificate. The parent must be ACTIVE and its path length must allow a
     * sub-CA (FAILED_PRECONDITION otherwise).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse> createIntermediateCertificateAuthority(
        dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateIntermediateCertificateAuthorityMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * CreateExternalIntermediateCertificateAuthority generates a key and returns a CSR for a CA
     * outside certmint to sign. The CA stays PENDING_CERTIFICATE until
     * ImportCertificateAuthorityCertificate supplies the signed certificate.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse> createExternalIntermediateCertificateAuthority(
        dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateExternalIntermediateCertificateAuthorityMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ImportCertificateAuthorityCertificate activates a PENDING_CERTIFICATE CA with the
     * certificate signed outside. The certificate must match the CA's key, be a CA certificate
     * (basicConstraints cA=TRUE, keyCertSign) and chain to the trust anchors supplied.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.ImportCertificateAuthorityCertificateResponse> importCertificateAuthorityCertificate(
        dev.certmint.v1.ImportCertificateAuthorityCertificateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getImportCertificateAuthorityCertificateMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetCertificateAuthority returns one CA by id or slug. NOT_FOUND when there is none.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.GetCertificateAuthorityResponse> getCertificateAuthority(
        dev.certmint.v1.GetCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetCertificateAuthorityMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListCertificateAuthorities lists CAs, oldest first, a page at a time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.ListCertificateAuthoritiesResponse> listCertificateAuthorities(
        dev.certmint.v1.ListCertificateAuthoritiesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListCertificateAuthoritiesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * UpdateCertificateAuthority changes the fields named in update_mask ("status",
     * "description", or "*" for both): enable or disable a CA. A DISABLED CA signs nothing.
     * ABORTED when etag is given and stale.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.UpdateCertificateAuthorityResponse> updateCertificateAuthority(
        dev.certmint.v1.UpdateCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateCertificateAuthorityMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetCertificateRevocationList returns the CA's current X.509 v2 CRL (RFC 5280 section 5)
     * listing every revoked, unexpired certificate it issued: the CRL the publication endpoint
     * serves, signed at most once per CERTMINT_CRL_CACHE_SECONDS and again after a revocation
     * (through any replica, within a second), each signing with the next crl_number.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.GetCertificateRevocationListResponse> getCertificateRevocationList(
        dev.certmint.v1.GetCertificateRevocationListRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetCertificateRevocationListMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * DeleteCertificateAuthority deletes a CA and its sealed key. FAILED_PRECONDITION
     * (PreconditionFailure naming each blocker) while a profile uses it, while a CA below it
     * exists, or once it has issued certificates (their CRL must stay available: disable the CA
     * instead). ABORTED when etag is given and stale.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.DeleteCertificateAuthorityResponse> deleteCertificateAuthority(
        dev.certmint.v1.DeleteCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteCertificateAuthorityMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RevokeCertificateAuthority revokes an intermediate CA signed by a CA in certmint, with an
     * RFC 5280 reason: its serial appears in its parent's next CRL, so relying parties that check
     * CRLs (e.g. `openssl verify -crl_check_all`) refuse every certificate below it. The CA, and
     * every CA below it, becomes DISABLED and signs nothing more; their CRLs are still served.
     * Revocation is final: UpdateCertificateAuthority cannot enable them again. Revoking a
     * revoked CA changes nothing and returns it as it is. Admin only; audited.
     * FAILED_PRECONDITION for a root (a trust anchor is on no CRL: remove it from the trust
     * stores and disable it) and for an external intermediate (its parent is outside certmint:
     * have that CA revoke it, and disable it here); INVALID_ARGUMENT for REMOVE_FROM_CRL and AA_COMPROMISE.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.RevokeCertificateAuthorityResponse> revokeCertificateAuthority(
        dev.certmint.v1.RevokeCertificateAuthorityRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRevokeCertificateAuthorityMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_ROOT_CERTIFICATE_AUTHORITY = 0;
  private static final int METHODID_CREATE_INTERMEDIATE_CERTIFICATE_AUTHORITY = 1;
  private static final int METHODID_CREATE_EXTERNAL_INTERMEDIATE_CERTIFICATE_AUTHORITY = 2;
  private static final int METHODID_IMPORT_CERTIFICATE_AUTHORITY_CERTIFICATE = 3;
  private static final int METHODID_GET_CERTIFICATE_AUTHORITY = 4;
  private static final int METHODID_LIST_CERTIFICATE_AUTHORITIES = 5;
  private static final int METHODID_UPDATE_CERTIFICATE_AUTHORITY = 6;
  private static final int METHODID_GET_CERTIFICATE_REVOCATION_LIST = 7;
  private static final int METHODID_DELETE_CERTIFICATE_AUTHORITY = 8;
  private static final int METHODID_REVOKE_CERTIFICATE_AUTHORITY = 9;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final CertificateAuthorityServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(CertificateAuthorityServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CREATE_ROOT_CERTIFICATE_AUTHORITY:
          serviceImpl.createRootCertificateAuthority((dev.certmint.v1.CreateRootCertificateAuthorityRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.CreateRootCertificateAuthorityResponse>) responseObserver);
          break;
        case METHODID_CREATE_INTERMEDIATE_CERTIFICATE_AUTHORITY:
          serviceImpl.createIntermediateCertificateAuthority((dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.CreateIntermediateCertificateAuthorityResponse>) responseObserver);
          break;
        case METHODID_CREATE_EXTERNAL_INTERMEDIATE_CERTIFICATE_AUTHORITY:
          serviceImpl.createExternalIntermediateCertificateAuthority((dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.CreateExternalIntermediateCertificateAuthorityResponse>) responseObserver);
          break;
        case METHODID_IMPORT_CERTIFICATE_AUTHORITY_CERTIFICATE:
          serviceImpl.importCertificateAuthorityCertificate((dev.certmint.v1.ImportCertificateAuthorityCertificateRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.ImportCertificateAuthorityCertificateResponse>) responseObserver);
          break;
        case METHODID_GET_CERTIFICATE_AUTHORITY:
          serviceImpl.getCertificateAuthority((dev.certmint.v1.GetCertificateAuthorityRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateAuthorityResponse>) responseObserver);
          break;
        case METHODID_LIST_CERTIFICATE_AUTHORITIES:
          serviceImpl.listCertificateAuthorities((dev.certmint.v1.ListCertificateAuthoritiesRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificateAuthoritiesResponse>) responseObserver);
          break;
        case METHODID_UPDATE_CERTIFICATE_AUTHORITY:
          serviceImpl.updateCertificateAuthority((dev.certmint.v1.UpdateCertificateAuthorityRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.UpdateCertificateAuthorityResponse>) responseObserver);
          break;
        case METHODID_GET_CERTIFICATE_REVOCATION_LIST:
          serviceImpl.getCertificateRevocationList((dev.certmint.v1.GetCertificateRevocationListRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateRevocationListResponse>) responseObserver);
          break;
        case METHODID_DELETE_CERTIFICATE_AUTHORITY:
          serviceImpl.deleteCertificateAuthority((dev.certmint.v1.DeleteCertificateAuthorityRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.DeleteCertificateAuthorityResponse>) responseObserver);
          break;
        case METHODID_REVOKE_CERTIFICATE_AUTHORITY:
          serviceImpl.revokeCertificateAuthority((dev.certmint.v1.RevokeCertificateAuthorityRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeCertificateAuthorityResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  private static abstract class CertificateAuthorityServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CertificateAuthorityServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.certmint.v1.CertificateAuthorityServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("CertificateAuthorityService");
    }
  }

  private static final class CertificateAuthorityServiceFileDescriptorSupplier
      extends CertificateAuthorityServiceBaseDescriptorSupplier {
    CertificateAuthorityServiceFileDescriptorSupplier() {}
  }

  private static final class CertificateAuthorityServiceMethodDescriptorSupplier
      extends CertificateAuthorityServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    CertificateAuthorityServiceMethodDescriptorSupplier(String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (CertificateAuthorityServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CertificateAuthorityServiceFileDescriptorSupplier())
              .addMethod(getCreateRootCertificateAuthorityMethod())
              .addMethod(getCreateIntermediateCertificateAuthorityMethod())
              .addMethod(getCreateExternalIntermediateCertificateAuthorityMethod())
              .addMethod(getImportCertificateAuthorityCertificateMethod())
              .addMethod(getGetCertificateAuthorityMethod())
              .addMethod(getListCertificateAuthoritiesMethod())
              .addMethod(getUpdateCertificateAuthorityMethod())
              .addMethod(getGetCertificateRevocationListMethod())
              .addMethod(getDeleteCertificateAuthorityMethod())
              .addMethod(getRevokeCertificateAuthorityMethod())
              .build();
        }
      }
    }
    return result;
  }
}
