package dev.certmint.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * CertificateProfileService manages certificate profiles: a policy, an issuer, an enrollment
 * method and defaults. Every certificate is issued against a profile.
 * Changes need an admin access token; reads (Get, List) an admin or auditor token.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: certmint/v1/certificate_profile_service.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class CertificateProfileServiceGrpc {

  private CertificateProfileServiceGrpc() {}

  public static final String SERVICE_NAME = "certmint.v1.CertificateProfileService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.CreateCertificateProfileRequest,
      dev.certmint.v1.CreateCertificateProfileResponse> getCreateCertificateProfileMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateCertificateProfile",
      requestType = dev.certmint.v1.CreateCertificateProfileRequest.class,
      responseType = dev.certmint.v1.CreateCertificateProfileResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.CreateCertificateProfileRequest,
      dev.certmint.v1.CreateCertificateProfileResponse> getCreateCertificateProfileMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.CreateCertificateProfileRequest, dev.certmint.v1.CreateCertificateProfileResponse> getCreateCertificateProfileMethod;
    if ((getCreateCertificateProfileMethod = CertificateProfileServiceGrpc.getCreateCertificateProfileMethod) == null) {
      synchronized (CertificateProfileServiceGrpc.class) {
        if ((getCreateCertificateProfileMethod = CertificateProfileServiceGrpc.getCreateCertificateProfileMethod) == null) {
          CertificateProfileServiceGrpc.getCreateCertificateProfileMethod = getCreateCertificateProfileMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.CreateCertificateProfileRequest, dev.certmint.v1.CreateCertificateProfileResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateCertificateProfile"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateCertificateProfileRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateCertificateProfileResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateProfileServiceMethodDescriptorSupplier("CreateCertificateProfile"))
              .build();
        }
      }
    }
    return getCreateCertificateProfileMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateProfileRequest,
      dev.certmint.v1.GetCertificateProfileResponse> getGetCertificateProfileMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetCertificateProfile",
      requestType = dev.certmint.v1.GetCertificateProfileRequest.class,
      responseType = dev.certmint.v1.GetCertificateProfileResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateProfileRequest,
      dev.certmint.v1.GetCertificateProfileResponse> getGetCertificateProfileMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateProfileRequest, dev.certmint.v1.GetCertificateProfileResponse> getGetCertificateProfileMethod;
    if ((getGetCertificateProfileMethod = CertificateProfileServiceGrpc.getGetCertificateProfileMethod) == null) {
      synchronized (CertificateProfileServiceGrpc.class) {
        if ((getGetCertificateProfileMethod = CertificateProfileServiceGrpc.getGetCertificateProfileMethod) == null) {
          CertificateProfileServiceGrpc.getGetCertificateProfileMethod = getGetCertificateProfileMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.GetCertificateProfileRequest, dev.certmint.v1.GetCertificateProfileResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetCertificateProfile"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCertificateProfileRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCertificateProfileResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateProfileServiceMethodDescriptorSupplier("GetCertificateProfile"))
              .build();
        }
      }
    }
    return getGetCertificateProfileMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificateProfilesRequest,
      dev.certmint.v1.ListCertificateProfilesResponse> getListCertificateProfilesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListCertificateProfiles",
      requestType = dev.certmint.v1.ListCertificateProfilesRequest.class,
      responseType = dev.certmint.v1.ListCertificateProfilesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificateProfilesRequest,
      dev.certmint.v1.ListCertificateProfilesResponse> getListCertificateProfilesMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificateProfilesRequest, dev.certmint.v1.ListCertificateProfilesResponse> getListCertificateProfilesMethod;
    if ((getListCertificateProfilesMethod = CertificateProfileServiceGrpc.getListCertificateProfilesMethod) == null) {
      synchronized (CertificateProfileServiceGrpc.class) {
        if ((getListCertificateProfilesMethod = CertificateProfileServiceGrpc.getListCertificateProfilesMethod) == null) {
          CertificateProfileServiceGrpc.getListCertificateProfilesMethod = getListCertificateProfilesMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.ListCertificateProfilesRequest, dev.certmint.v1.ListCertificateProfilesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListCertificateProfiles"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListCertificateProfilesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListCertificateProfilesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateProfileServiceMethodDescriptorSupplier("ListCertificateProfiles"))
              .build();
        }
      }
    }
    return getListCertificateProfilesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.UpdateCertificateProfileRequest,
      dev.certmint.v1.UpdateCertificateProfileResponse> getUpdateCertificateProfileMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateCertificateProfile",
      requestType = dev.certmint.v1.UpdateCertificateProfileRequest.class,
      responseType = dev.certmint.v1.UpdateCertificateProfileResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.UpdateCertificateProfileRequest,
      dev.certmint.v1.UpdateCertificateProfileResponse> getUpdateCertificateProfileMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.UpdateCertificateProfileRequest, dev.certmint.v1.UpdateCertificateProfileResponse> getUpdateCertificateProfileMethod;
    if ((getUpdateCertificateProfileMethod = CertificateProfileServiceGrpc.getUpdateCertificateProfileMethod) == null) {
      synchronized (CertificateProfileServiceGrpc.class) {
        if ((getUpdateCertificateProfileMethod = CertificateProfileServiceGrpc.getUpdateCertificateProfileMethod) == null) {
          CertificateProfileServiceGrpc.getUpdateCertificateProfileMethod = getUpdateCertificateProfileMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.UpdateCertificateProfileRequest, dev.certmint.v1.UpdateCertificateProfileResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateCertificateProfile"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.UpdateCertificateProfileRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.UpdateCertificateProfileResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateProfileServiceMethodDescriptorSupplier("UpdateCertificateProfile"))
              .build();
        }
      }
    }
    return getUpdateCertificateProfileMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.DeleteCertificateProfileRequest,
      dev.certmint.v1.DeleteCertificateProfileResponse> getDeleteCertificateProfileMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteCertificateProfile",
      requestType = dev.certmint.v1.DeleteCertificateProfileRequest.class,
      responseType = dev.certmint.v1.DeleteCertificateProfileResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.DeleteCertificateProfileRequest,
      dev.certmint.v1.DeleteCertificateProfileResponse> getDeleteCertificateProfileMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.DeleteCertificateProfileRequest, dev.certmint.v1.DeleteCertificateProfileResponse> getDeleteCertificateProfileMethod;
    if ((getDeleteCertificateProfileMethod = CertificateProfileServiceGrpc.getDeleteCertificateProfileMethod) == null) {
      synchronized (CertificateProfileServiceGrpc.class) {
        if ((getDeleteCertificateProfileMethod = CertificateProfileServiceGrpc.getDeleteCertificateProfileMethod) == null) {
          CertificateProfileServiceGrpc.getDeleteCertificateProfileMethod = getDeleteCertificateProfileMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.DeleteCertificateProfileRequest, dev.certmint.v1.DeleteCertificateProfileResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteCertificateProfile"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.DeleteCertificateProfileRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.DeleteCertificateProfileResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateProfileServiceMethodDescriptorSupplier("DeleteCertificateProfile"))
              .build();
        }
      }
    }
    return getDeleteCertificateProfileMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.CreateAcmeExternalAccountKeyRequest,
      dev.certmint.v1.CreateAcmeExternalAccountKeyResponse> getCreateAcmeExternalAccountKeyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateAcmeExternalAccountKey",
      requestType = dev.certmint.v1.CreateAcmeExternalAccountKeyRequest.class,
      responseType = dev.certmint.v1.CreateAcmeExternalAccountKeyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.CreateAcmeExternalAccountKeyRequest,
      dev.certmint.v1.CreateAcmeExternalAccountKeyResponse> getCreateAcmeExternalAccountKeyMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.CreateAcmeExternalAccountKeyRequest, dev.certmint.v1.CreateAcmeExternalAccountKeyResponse> getCreateAcmeExternalAccountKeyMethod;
    if ((getCreateAcmeExternalAccountKeyMethod = CertificateProfileServiceGrpc.getCreateAcmeExternalAccountKeyMethod) == null) {
      synchronized (CertificateProfileServiceGrpc.class) {
        if ((getCreateAcmeExternalAccountKeyMethod = CertificateProfileServiceGrpc.getCreateAcmeExternalAccountKeyMethod) == null) {
          CertificateProfileServiceGrpc.getCreateAcmeExternalAccountKeyMethod = getCreateAcmeExternalAccountKeyMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.CreateAcmeExternalAccountKeyRequest, dev.certmint.v1.CreateAcmeExternalAccountKeyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateAcmeExternalAccountKey"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateAcmeExternalAccountKeyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateAcmeExternalAccountKeyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateProfileServiceMethodDescriptorSupplier("CreateAcmeExternalAccountKey"))
              .build();
        }
      }
    }
    return getCreateAcmeExternalAccountKeyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.ListAcmeExternalAccountKeysRequest,
      dev.certmint.v1.ListAcmeExternalAccountKeysResponse> getListAcmeExternalAccountKeysMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListAcmeExternalAccountKeys",
      requestType = dev.certmint.v1.ListAcmeExternalAccountKeysRequest.class,
      responseType = dev.certmint.v1.ListAcmeExternalAccountKeysResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.ListAcmeExternalAccountKeysRequest,
      dev.certmint.v1.ListAcmeExternalAccountKeysResponse> getListAcmeExternalAccountKeysMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.ListAcmeExternalAccountKeysRequest, dev.certmint.v1.ListAcmeExternalAccountKeysResponse> getListAcmeExternalAccountKeysMethod;
    if ((getListAcmeExternalAccountKeysMethod = CertificateProfileServiceGrpc.getListAcmeExternalAccountKeysMethod) == null) {
      synchronized (CertificateProfileServiceGrpc.class) {
        if ((getListAcmeExternalAccountKeysMethod = CertificateProfileServiceGrpc.getListAcmeExternalAccountKeysMethod) == null) {
          CertificateProfileServiceGrpc.getListAcmeExternalAccountKeysMethod = getListAcmeExternalAccountKeysMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.ListAcmeExternalAccountKeysRequest, dev.certmint.v1.ListAcmeExternalAccountKeysResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListAcmeExternalAccountKeys"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListAcmeExternalAccountKeysRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListAcmeExternalAccountKeysResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateProfileServiceMethodDescriptorSupplier("ListAcmeExternalAccountKeys"))
              .build();
        }
      }
    }
    return getListAcmeExternalAccountKeysMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest,
      dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse> getRevokeAcmeExternalAccountKeyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RevokeAcmeExternalAccountKey",
      requestType = dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest.class,
      responseType = dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest,
      dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse> getRevokeAcmeExternalAccountKeyMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest, dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse> getRevokeAcmeExternalAccountKeyMethod;
    if ((getRevokeAcmeExternalAccountKeyMethod = CertificateProfileServiceGrpc.getRevokeAcmeExternalAccountKeyMethod) == null) {
      synchronized (CertificateProfileServiceGrpc.class) {
        if ((getRevokeAcmeExternalAccountKeyMethod = CertificateProfileServiceGrpc.getRevokeAcmeExternalAccountKeyMethod) == null) {
          CertificateProfileServiceGrpc.getRevokeAcmeExternalAccountKeyMethod = getRevokeAcmeExternalAccountKeyMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest, dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RevokeAcmeExternalAccountKey"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateProfileServiceMethodDescriptorSupplier("RevokeAcmeExternalAccountKey"))
              .build();
        }
      }
    }
    return getRevokeAcmeExternalAccountKeyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.ListAcmeAccountsRequest,
      dev.certmint.v1.ListAcmeAccountsResponse> getListAcmeAccountsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListAcmeAccounts",
      requestType = dev.certmint.v1.ListAcmeAccountsRequest.class,
      responseType = dev.certmint.v1.ListAcmeAccountsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.ListAcmeAccountsRequest,
      dev.certmint.v1.ListAcmeAccountsResponse> getListAcmeAccountsMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.ListAcmeAccountsRequest, dev.certmint.v1.ListAcmeAccountsResponse> getListAcmeAccountsMethod;
    if ((getListAcmeAccountsMethod = CertificateProfileServiceGrpc.getListAcmeAccountsMethod) == null) {
      synchronized (CertificateProfileServiceGrpc.class) {
        if ((getListAcmeAccountsMethod = CertificateProfileServiceGrpc.getListAcmeAccountsMethod) == null) {
          CertificateProfileServiceGrpc.getListAcmeAccountsMethod = getListAcmeAccountsMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.ListAcmeAccountsRequest, dev.certmint.v1.ListAcmeAccountsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListAcmeAccounts"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListAcmeAccountsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListAcmeAccountsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateProfileServiceMethodDescriptorSupplier("ListAcmeAccounts"))
              .build();
        }
      }
    }
    return getListAcmeAccountsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.RevokeAcmeAccountRequest,
      dev.certmint.v1.RevokeAcmeAccountResponse> getRevokeAcmeAccountMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RevokeAcmeAccount",
      requestType = dev.certmint.v1.RevokeAcmeAccountRequest.class,
      responseType = dev.certmint.v1.RevokeAcmeAccountResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.RevokeAcmeAccountRequest,
      dev.certmint.v1.RevokeAcmeAccountResponse> getRevokeAcmeAccountMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.RevokeAcmeAccountRequest, dev.certmint.v1.RevokeAcmeAccountResponse> getRevokeAcmeAccountMethod;
    if ((getRevokeAcmeAccountMethod = CertificateProfileServiceGrpc.getRevokeAcmeAccountMethod) == null) {
      synchronized (CertificateProfileServiceGrpc.class) {
        if ((getRevokeAcmeAccountMethod = CertificateProfileServiceGrpc.getRevokeAcmeAccountMethod) == null) {
          CertificateProfileServiceGrpc.getRevokeAcmeAccountMethod = getRevokeAcmeAccountMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.RevokeAcmeAccountRequest, dev.certmint.v1.RevokeAcmeAccountResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RevokeAcmeAccount"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RevokeAcmeAccountRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RevokeAcmeAccountResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateProfileServiceMethodDescriptorSupplier("RevokeAcmeAccount"))
              .build();
        }
      }
    }
    return getRevokeAcmeAccountMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CertificateProfileServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificateProfileServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificateProfileServiceStub>() {
        @java.lang.Override
        public CertificateProfileServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificateProfileServiceStub(channel, callOptions);
        }
      };
    return CertificateProfileServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CertificateProfileServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificateProfileServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificateProfileServiceBlockingStub>() {
        @java.lang.Override
        public CertificateProfileServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificateProfileServiceBlockingStub(channel, callOptions);
        }
      };
    return CertificateProfileServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CertificateProfileServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificateProfileServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificateProfileServiceFutureStub>() {
        @java.lang.Override
        public CertificateProfileServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificateProfileServiceFutureStub(channel, callOptions);
        }
      };
    return CertificateProfileServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * CertificateProfileService manages certificate profiles: a policy, an issuer, an enrollment
   * method and defaults. Every certificate is issued against a profile.
   * Changes need an admin access token; reads (Get, List) an admin or auditor token.
   * </pre>
   */
  public static abstract class CertificateProfileServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * CreateCertificateProfile creates a profile. INVALID_ARGUMENT when its defaults break its
     * own policy; NOT_FOUND when the policy or CA does not exist; ALREADY_EXISTS for a taken slug.
     * </pre>
     */
    public void createCertificateProfile(dev.certmint.v1.CreateCertificateProfileRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateCertificateProfileResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateCertificateProfileMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetCertificateProfile returns one profile by id or slug.
     * </pre>
     */
    public void getCertificateProfile(dev.certmint.v1.GetCertificateProfileRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateProfileResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetCertificateProfileMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListCertificateProfiles lists profiles, oldest first, a page at a time.
     * </pre>
     */
    public void listCertificateProfiles(dev.certmint.v1.ListCertificateProfilesRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificateProfilesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListCertificateProfilesMethod(), responseObserver);
    }

    /**
     * <pre>
     * UpdateCertificateProfile replaces the fields named in update_mask. ABORTED when the etag is stale.
     * </pre>
     */
    public void updateCertificateProfile(dev.certmint.v1.UpdateCertificateProfileRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.UpdateCertificateProfileResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateCertificateProfileMethod(), responseObserver);
    }

    /**
     * <pre>
     * DeleteCertificateProfile deletes a profile; certificates issued under it are kept, but can
     * no longer be renewed (by their clients or by the server). FAILED_PRECONDITION
     * PROFILE_HAS_CERTIFICATES while certificates issued under it are still valid (not expired,
     * revoked or renewed), unless force is set; PROFILE_HAS_WAITING_REQUESTS while requests wait
     * for approval on it.
     * </pre>
     */
    public void deleteCertificateProfile(dev.certmint.v1.DeleteCertificateProfileRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.DeleteCertificateProfileResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteCertificateProfileMethod(), responseObserver);
    }

    /**
     * <pre>
     * CreateAcmeExternalAccountKey makes an External Account Binding key (RFC 8555 7.3.4) for an
     * ACME profile: hand its key_id and hmac_key to whoever may open one ACME account there (the
     * key binds one account). Admin only. FAILED_PRECONDITION (PROFILE_NOT_ACME) when the
     * profile's enrollment method is not ACME; NOT_FOUND for an unknown profile.
     * </pre>
     */
    public void createAcmeExternalAccountKey(dev.certmint.v1.CreateAcmeExternalAccountKeyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateAcmeExternalAccountKeyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateAcmeExternalAccountKeyMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListAcmeExternalAccountKeys lists an ACME profile's External Account Binding keys, oldest
     * first, a page at a time, bound and revoked ones included: each key's id, creator, and the
     * account it bound (keys revoked with their creator's token line too). Never an HMAC key:
     * certmint derives it and stores none. A profile that no longer enrolls by ACME still lists
     * the keys it had. NOT_FOUND for an unknown profile.
     * </pre>
     */
    public void listAcmeExternalAccountKeys(dev.certmint.v1.ListAcmeExternalAccountKeysRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListAcmeExternalAccountKeysResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListAcmeExternalAccountKeysMethod(), responseObserver);
    }

    /**
     * <pre>
     * RevokeAcmeExternalAccountKey revokes a key at once: from then on it binds no ACME account
     * (newAccount answers unauthorized). The account it already bound holds the key's authority:
     * if still valid, it is revoked with the key, in the same transaction, as RevokeAcmeAccount
     * does. Revoking a revoked key changes nothing. Admin only. NOT_FOUND for an unknown key id.
     * </pre>
     */
    public void revokeAcmeExternalAccountKey(dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRevokeAcmeExternalAccountKeyMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListAcmeAccounts lists an ACME profile's accounts, oldest first, a page at a time, in every
     * status. A profile that no longer enrolls by ACME still lists the accounts it had. NOT_FOUND
     * for an unknown profile.
     * </pre>
     */
    public void listAcmeAccounts(dev.certmint.v1.ListAcmeAccountsRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListAcmeAccountsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListAcmeAccountsMethod(), responseObserver);
    }

    /**
     * <pre>
     * RevokeAcmeAccount ends an ACME account at once, as the server's deactivation of RFC 8555
     * 7.1.2 (status "revoked"): every later request it signs is answered unauthorized, an order
     * being finalized stores nothing, and its requests waiting for approval are rejected. The
     * certificates it was issued stay valid (RevokeCertificate revokes them). On a profile that
     * does not require External Account Binding, its holder may open a new account at once (with
     * another key): to keep someone out, require a binding (acme.require_external_account_binding)
     * and revoke the key too. Revoking an account that is not valid changes nothing. Admin only.
     * NOT_FOUND for an unknown account;
     * INVALID_ARGUMENT (ACME_ACCOUNT_ID_INVALID) for an id that is not a UUID.
     * </pre>
     */
    public void revokeAcmeAccount(dev.certmint.v1.RevokeAcmeAccountRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeAcmeAccountResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRevokeAcmeAccountMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getCreateCertificateProfileMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.CreateCertificateProfileRequest,
                dev.certmint.v1.CreateCertificateProfileResponse>(
                  this, METHODID_CREATE_CERTIFICATE_PROFILE)))
          .addMethod(
            getGetCertificateProfileMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.GetCertificateProfileRequest,
                dev.certmint.v1.GetCertificateProfileResponse>(
                  this, METHODID_GET_CERTIFICATE_PROFILE)))
          .addMethod(
            getListCertificateProfilesMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.ListCertificateProfilesRequest,
                dev.certmint.v1.ListCertificateProfilesResponse>(
                  this, METHODID_LIST_CERTIFICATE_PROFILES)))
          .addMethod(
            getUpdateCertificateProfileMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.UpdateCertificateProfileRequest,
                dev.certmint.v1.UpdateCertificateProfileResponse>(
                  this, METHODID_UPDATE_CERTIFICATE_PROFILE)))
          .addMethod(
            getDeleteCertificateProfileMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.DeleteCertificateProfileRequest,
                dev.certmint.v1.DeleteCertificateProfileResponse>(
                  this, METHODID_DELETE_CERTIFICATE_PROFILE)))
          .addMethod(
            getCreateAcmeExternalAccountKeyMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.CreateAcmeExternalAccountKeyRequest,
                dev.certmint.v1.CreateAcmeExternalAccountKeyResponse>(
                  this, METHODID_CREATE_ACME_EXTERNAL_ACCOUNT_KEY)))
          .addMethod(
            getListAcmeExternalAccountKeysMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.ListAcmeExternalAccountKeysRequest,
                dev.certmint.v1.ListAcmeExternalAccountKeysResponse>(
                  this, METHODID_LIST_ACME_EXTERNAL_ACCOUNT_KEYS)))
          .addMethod(
            getRevokeAcmeExternalAccountKeyMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest,
                dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse>(
                  this, METHODID_REVOKE_ACME_EXTERNAL_ACCOUNT_KEY)))
          .addMethod(
            getListAcmeAccountsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.ListAcmeAccountsRequest,
                dev.certmint.v1.ListAcmeAccountsResponse>(
                  this, METHODID_LIST_ACME_ACCOUNTS)))
          .addMethod(
            getRevokeAcmeAccountMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.RevokeAcmeAccountRequest,
                dev.certmint.v1.RevokeAcmeAccountResponse>(
                  this, METHODID_REVOKE_ACME_ACCOUNT)))
          .build();
    }
  }

  /**
   * <pre>
   * CertificateProfileService manages certificate profiles: a policy, an issuer, an enrollment
   * method and defaults. Every certificate is issued against a profile.
   * Changes need an admin access token; reads (Get, List) an admin or auditor token.
   * </pre>
   */
  public static final class CertificateProfileServiceStub extends io.grpc.stub.AbstractAsyncStub<CertificateProfileServiceStub> {
    private CertificateProfileServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificateProfileServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificateProfileServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateCertificateProfile creates a profile. INVALID_ARGUMENT when its defaults break its
     * own policy; NOT_FOUND when the policy or CA does not exist; ALREADY_EXISTS for a taken slug.
     * </pre>
     */
    public void createCertificateProfile(dev.certmint.v1.CreateCertificateProfileRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateCertificateProfileResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateCertificateProfileMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetCertificateProfile returns one profile by id or slug.
     * </pre>
     */
    public void getCertificateProfile(dev.certmint.v1.GetCertificateProfileRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateProfileResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetCertificateProfileMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListCertificateProfiles lists profiles, oldest first, a page at a time.
     * </pre>
     */
    public void listCertificateProfiles(dev.certmint.v1.ListCertificateProfilesRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificateProfilesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListCertificateProfilesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * UpdateCertificateProfile replaces the fields named in update_mask. ABORTED when the etag is stale.
     * </pre>
     */
    public void updateCertificateProfile(dev.certmint.v1.UpdateCertificateProfileRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.UpdateCertificateProfileResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateCertificateProfileMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * DeleteCertificateProfile deletes a profile; certificates issued under it are kept, but can
     * no longer be renewed (by their clients or by the server). FAILED_PRECONDITION
     * PROFILE_HAS_CERTIFICATES while certificates issued under it are still valid (not expired,
     * revoked or renewed), unless force is set; PROFILE_HAS_WAITING_REQUESTS while requests wait
     * for approval on it.
     * </pre>
     */
    public void deleteCertificateProfile(dev.certmint.v1.DeleteCertificateProfileRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.DeleteCertificateProfileResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteCertificateProfileMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * CreateAcmeExternalAccountKey makes an External Account Binding key (RFC 8555 7.3.4) for an
     * ACME profile: hand its key_id and hmac_key to whoever may open one ACME account there (the
     * key binds one account). Admin only. FAILED_PRECONDITION (PROFILE_NOT_ACME) when the
     * profile's enrollment method is not ACME; NOT_FOUND for an unknown profile.
     * </pre>
     */
    public void createAcmeExternalAccountKey(dev.certmint.v1.CreateAcmeExternalAccountKeyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateAcmeExternalAccountKeyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateAcmeExternalAccountKeyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListAcmeExternalAccountKeys lists an ACME profile's External Account Binding keys, oldest
     * first, a page at a time, bound and revoked ones included: each key's id, creator, and the
     * account it bound (keys revoked with their creator's token line too). Never an HMAC key:
     * certmint derives it and stores none. A profile that no longer enrolls by ACME still lists
     * the keys it had. NOT_FOUND for an unknown profile.
     * </pre>
     */
    public void listAcmeExternalAccountKeys(dev.certmint.v1.ListAcmeExternalAccountKeysRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListAcmeExternalAccountKeysResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListAcmeExternalAccountKeysMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RevokeAcmeExternalAccountKey revokes a key at once: from then on it binds no ACME account
     * (newAccount answers unauthorized). The account it already bound holds the key's authority:
     * if still valid, it is revoked with the key, in the same transaction, as RevokeAcmeAccount
     * does. Revoking a revoked key changes nothing. Admin only. NOT_FOUND for an unknown key id.
     * </pre>
     */
    public void revokeAcmeExternalAccountKey(dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRevokeAcmeExternalAccountKeyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListAcmeAccounts lists an ACME profile's accounts, oldest first, a page at a time, in every
     * status. A profile that no longer enrolls by ACME still lists the accounts it had. NOT_FOUND
     * for an unknown profile.
     * </pre>
     */
    public void listAcmeAccounts(dev.certmint.v1.ListAcmeAccountsRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListAcmeAccountsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListAcmeAccountsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RevokeAcmeAccount ends an ACME account at once, as the server's deactivation of RFC 8555
     * 7.1.2 (status "revoked"): every later request it signs is answered unauthorized, an order
     * being finalized stores nothing, and its requests waiting for approval are rejected. The
     * certificates it was issued stay valid (RevokeCertificate revokes them). On a profile that
     * does not require External Account Binding, its holder may open a new account at once (with
     * another key): to keep someone out, require a binding (acme.require_external_account_binding)
     * and revoke the key too. Revoking an account that is not valid changes nothing. Admin only.
     * NOT_FOUND for an unknown account;
     * INVALID_ARGUMENT (ACME_ACCOUNT_ID_INVALID) for an id that is not a UUID.
     * </pre>
     */
    public void revokeAcmeAccount(dev.certmint.v1.RevokeAcmeAccountRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeAcmeAccountResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRevokeAcmeAccountMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * CertificateProfileService manages certificate profiles: a policy, an issuer, an enrollment
   * method and defaults. Every certificate is issued against a profile.
   * Changes need an admin access token; reads (Get, List) an admin or auditor token.
   * </pre>
   */
  public static final class CertificateProfileServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<CertificateProfileServiceBlockingStub> {
    private CertificateProfileServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificateProfileServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificateProfileServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateCertificateProfile creates a profile. INVALID_ARGUMENT when its defaults break its
     * own policy; NOT_FOUND when the policy or CA does not exist; ALREADY_EXISTS for a taken slug.
     * </pre>
     */
    public dev.certmint.v1.CreateCertificateProfileResponse createCertificateProfile(dev.certmint.v1.CreateCertificateProfileRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateCertificateProfileMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetCertificateProfile returns one profile by id or slug.
     * </pre>
     */
    public dev.certmint.v1.GetCertificateProfileResponse getCertificateProfile(dev.certmint.v1.GetCertificateProfileRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetCertificateProfileMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListCertificateProfiles lists profiles, oldest first, a page at a time.
     * </pre>
     */
    public dev.certmint.v1.ListCertificateProfilesResponse listCertificateProfiles(dev.certmint.v1.ListCertificateProfilesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListCertificateProfilesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * UpdateCertificateProfile replaces the fields named in update_mask. ABORTED when the etag is stale.
     * </pre>
     */
    public dev.certmint.v1.UpdateCertificateProfileResponse updateCertificateProfile(dev.certmint.v1.UpdateCertificateProfileRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateCertificateProfileMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * DeleteCertificateProfile deletes a profile; certificates issued under it are kept, but can
     * no longer be renewed (by their clients or by the server). FAILED_PRECONDITION
     * PROFILE_HAS_CERTIFICATES while certificates issued under it are still valid (not expired,
     * revoked or renewed), unless force is set; PROFILE_HAS_WAITING_REQUESTS while requests wait
     * for approval on it.
     * </pre>
     */
    public dev.certmint.v1.DeleteCertificateProfileResponse deleteCertificateProfile(dev.certmint.v1.DeleteCertificateProfileRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteCertificateProfileMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * CreateAcmeExternalAccountKey makes an External Account Binding key (RFC 8555 7.3.4) for an
     * ACME profile: hand its key_id and hmac_key to whoever may open one ACME account there (the
     * key binds one account). Admin only. FAILED_PRECONDITION (PROFILE_NOT_ACME) when the
     * profile's enrollment method is not ACME; NOT_FOUND for an unknown profile.
     * </pre>
     */
    public dev.certmint.v1.CreateAcmeExternalAccountKeyResponse createAcmeExternalAccountKey(dev.certmint.v1.CreateAcmeExternalAccountKeyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateAcmeExternalAccountKeyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListAcmeExternalAccountKeys lists an ACME profile's External Account Binding keys, oldest
     * first, a page at a time, bound and revoked ones included: each key's id, creator, and the
     * account it bound (keys revoked with their creator's token line too). Never an HMAC key:
     * certmint derives it and stores none. A profile that no longer enrolls by ACME still lists
     * the keys it had. NOT_FOUND for an unknown profile.
     * </pre>
     */
    public dev.certmint.v1.ListAcmeExternalAccountKeysResponse listAcmeExternalAccountKeys(dev.certmint.v1.ListAcmeExternalAccountKeysRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListAcmeExternalAccountKeysMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RevokeAcmeExternalAccountKey revokes a key at once: from then on it binds no ACME account
     * (newAccount answers unauthorized). The account it already bound holds the key's authority:
     * if still valid, it is revoked with the key, in the same transaction, as RevokeAcmeAccount
     * does. Revoking a revoked key changes nothing. Admin only. NOT_FOUND for an unknown key id.
     * </pre>
     */
    public dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse revokeAcmeExternalAccountKey(dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRevokeAcmeExternalAccountKeyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListAcmeAccounts lists an ACME profile's accounts, oldest first, a page at a time, in every
     * status. A profile that no longer enrolls by ACME still lists the accounts it had. NOT_FOUND
     * for an unknown profile.
     * </pre>
     */
    public dev.certmint.v1.ListAcmeAccountsResponse listAcmeAccounts(dev.certmint.v1.ListAcmeAccountsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListAcmeAccountsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RevokeAcmeAccount ends an ACME account at once, as the server's deactivation of RFC 8555
     * 7.1.2 (status "revoked"): every later request it signs is answered unauthorized, an order
     * being finalized stores nothing, and its requests waiting for approval are rejected. The
     * certificates it was issued stay valid (RevokeCertificate revokes them). On a profile that
     * does not require External Account Binding, its holder may open a new account at once (with
     * another key): to keep someone out, require a binding (acme.require_external_account_binding)
     * and revoke the key too. Revoking an account that is not valid changes nothing. Admin only.
     * NOT_FOUND for an unknown account;
     * INVALID_ARGUMENT (ACME_ACCOUNT_ID_INVALID) for an id that is not a UUID.
     * </pre>
     */
    public dev.certmint.v1.RevokeAcmeAccountResponse revokeAcmeAccount(dev.certmint.v1.RevokeAcmeAccountRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRevokeAcmeAccountMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * CertificateProfileService manages certificate profiles: a policy, an issuer, an enrollment
   * method and defaults. Every certificate is issued against a profile.
   * Changes need an admin access token; reads (Get, List) an admin or auditor token.
   * </pre>
   */
  public static final class CertificateProfileServiceFutureStub extends io.grpc.stub.AbstractFutureStub<CertificateProfileServiceFutureStub> {
    private CertificateProfileServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificateProfileServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificateProfileServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateCertificateProfile creates a profile. INVALID_ARGUMENT when its defaults break its
     * own policy; NOT_FOUND when the policy or CA does not exist; ALREADY_EXISTS for a taken slug.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.CreateCertificateProfileResponse> createCertificateProfile(
        dev.certmint.v1.CreateCertificateProfileRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateCertificateProfileMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetCertificateProfile returns one profile by id or slug.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.GetCertificateProfileResponse> getCertificateProfile(
        dev.certmint.v1.GetCertificateProfileRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetCertificateProfileMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListCertificateProfiles lists profiles, oldest first, a page at a time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.ListCertificateProfilesResponse> listCertificateProfiles(
        dev.certmint.v1.ListCertificateProfilesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListCertificateProfilesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * UpdateCertificateProfile replaces the fields named in update_mask. ABORTED when the etag is stale.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.UpdateCertificateProfileResponse> updateCertificateProfile(
        dev.certmint.v1.UpdateCertificateProfileRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateCertificateProfileMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * DeleteCertificateProfile deletes a profile; certificates issued under it are kept, but can
     * no longer be renewed (by their clients or by the server). FAILED_PRECONDITION
     * PROFILE_HAS_CERTIFICATES while certificates issued under it are still valid (not expired,
     * revoked or renewed), unless force is set; PROFILE_HAS_WAITING_REQUESTS while requests wait
     * for approval on it.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.DeleteCertificateProfileResponse> deleteCertificateProfile(
        dev.certmint.v1.DeleteCertificateProfileRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteCertificateProfileMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * CreateAcmeExternalAccountKey makes an External Account Binding key (RFC 8555 7.3.4) for an
     * ACME profile: hand its key_id and hmac_key to whoever may open one ACME account there (the
     * key binds one account). Admin only. FAILED_PRECONDITION (PROFILE_NOT_ACME) when the
     * profile's enrollment method is not ACME; NOT_FOUND for an unknown profile.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.CreateAcmeExternalAccountKeyResponse> createAcmeExternalAccountKey(
        dev.certmint.v1.CreateAcmeExternalAccountKeyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateAcmeExternalAccountKeyMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListAcmeExternalAccountKeys lists an ACME profile's External Account Binding keys, oldest
     * first, a page at a time, bound and revoked ones included: each key's id, creator, and the
     * account it bound (keys revoked with their creator's token line too). Never an HMAC key:
     * certmint derives it and stores none. A profile that no longer enrolls by ACME still lists
     * the keys it had. NOT_FOUND for an unknown profile.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.ListAcmeExternalAccountKeysResponse> listAcmeExternalAccountKeys(
        dev.certmint.v1.ListAcmeExternalAccountKeysRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListAcmeExternalAccountKeysMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RevokeAcmeExternalAccountKey revokes a key at once: from then on it binds no ACME account
     * (newAccount answers unauthorized). The account it already bound holds the key's authority:
     * if still valid, it is revoked with the key, in the same transaction, as RevokeAcmeAccount
     * does. Revoking a revoked key changes nothing. Admin only. NOT_FOUND for an unknown key id.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse> revokeAcmeExternalAccountKey(
        dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRevokeAcmeExternalAccountKeyMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListAcmeAccounts lists an ACME profile's accounts, oldest first, a page at a time, in every
     * status. A profile that no longer enrolls by ACME still lists the accounts it had. NOT_FOUND
     * for an unknown profile.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.ListAcmeAccountsResponse> listAcmeAccounts(
        dev.certmint.v1.ListAcmeAccountsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListAcmeAccountsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RevokeAcmeAccount ends an ACME account at once, as the server's deactivation of RFC 8555
     * 7.1.2 (status "revoked"): every later request it signs is answered unauthorized, an order
     * being finalized stores nothing, and its requests waiting for approval are rejected. The
     * certificates it was issued stay valid (RevokeCertificate revokes them). On a profile that
     * does not require External Account Binding, its holder may open a new account at once (with
     * another key): to keep someone out, require a binding (acme.require_external_account_binding)
     * and revoke the key too. Revoking an account that is not valid changes nothing. Admin only.
     * NOT_FOUND for an unknown account;
     * INVALID_ARGUMENT (ACME_ACCOUNT_ID_INVALID) for an id that is not a UUID.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.RevokeAcmeAccountResponse> revokeAcmeAccount(
        dev.certmint.v1.RevokeAcmeAccountRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRevokeAcmeAccountMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_CERTIFICATE_PROFILE = 0;
  private static final int METHODID_GET_CERTIFICATE_PROFILE = 1;
  private static final int METHODID_LIST_CERTIFICATE_PROFILES = 2;
  private static final int METHODID_UPDATE_CERTIFICATE_PROFILE = 3;
  private static final int METHODID_DELETE_CERTIFICATE_PROFILE = 4;
  private static final int METHODID_CREATE_ACME_EXTERNAL_ACCOUNT_KEY = 5;
  private static final int METHODID_LIST_ACME_EXTERNAL_ACCOUNT_KEYS = 6;
  private static final int METHODID_REVOKE_ACME_EXTERNAL_ACCOUNT_KEY = 7;
  private static final int METHODID_LIST_ACME_ACCOUNTS = 8;
  private static final int METHODID_REVOKE_ACME_ACCOUNT = 9;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final CertificateProfileServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(CertificateProfileServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CREATE_CERTIFICATE_PROFILE:
          serviceImpl.createCertificateProfile((dev.certmint.v1.CreateCertificateProfileRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.CreateCertificateProfileResponse>) responseObserver);
          break;
        case METHODID_GET_CERTIFICATE_PROFILE:
          serviceImpl.getCertificateProfile((dev.certmint.v1.GetCertificateProfileRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateProfileResponse>) responseObserver);
          break;
        case METHODID_LIST_CERTIFICATE_PROFILES:
          serviceImpl.listCertificateProfiles((dev.certmint.v1.ListCertificateProfilesRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificateProfilesResponse>) responseObserver);
          break;
        case METHODID_UPDATE_CERTIFICATE_PROFILE:
          serviceImpl.updateCertificateProfile((dev.certmint.v1.UpdateCertificateProfileRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.UpdateCertificateProfileResponse>) responseObserver);
          break;
        case METHODID_DELETE_CERTIFICATE_PROFILE:
          serviceImpl.deleteCertificateProfile((dev.certmint.v1.DeleteCertificateProfileRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.DeleteCertificateProfileResponse>) responseObserver);
          break;
        case METHODID_CREATE_ACME_EXTERNAL_ACCOUNT_KEY:
          serviceImpl.createAcmeExternalAccountKey((dev.certmint.v1.CreateAcmeExternalAccountKeyRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.CreateAcmeExternalAccountKeyResponse>) responseObserver);
          break;
        case METHODID_LIST_ACME_EXTERNAL_ACCOUNT_KEYS:
          serviceImpl.listAcmeExternalAccountKeys((dev.certmint.v1.ListAcmeExternalAccountKeysRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.ListAcmeExternalAccountKeysResponse>) responseObserver);
          break;
        case METHODID_REVOKE_ACME_EXTERNAL_ACCOUNT_KEY:
          serviceImpl.revokeAcmeExternalAccountKey((dev.certmint.v1.RevokeAcmeExternalAccountKeyRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeAcmeExternalAccountKeyResponse>) responseObserver);
          break;
        case METHODID_LIST_ACME_ACCOUNTS:
          serviceImpl.listAcmeAccounts((dev.certmint.v1.ListAcmeAccountsRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.ListAcmeAccountsResponse>) responseObserver);
          break;
        case METHODID_REVOKE_ACME_ACCOUNT:
          serviceImpl.revokeAcmeAccount((dev.certmint.v1.RevokeAcmeAccountRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeAcmeAccountResponse>) responseObserver);
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

  private static abstract class CertificateProfileServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CertificateProfileServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.certmint.v1.CertificateProfileServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("CertificateProfileService");
    }
  }

  private static final class CertificateProfileServiceFileDescriptorSupplier
      extends CertificateProfileServiceBaseDescriptorSupplier {
    CertificateProfileServiceFileDescriptorSupplier() {}
  }

  private static final class CertificateProfileServiceMethodDescriptorSupplier
      extends CertificateProfileServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    CertificateProfileServiceMethodDescriptorSupplier(String methodName) {
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
      synchronized (CertificateProfileServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CertificateProfileServiceFileDescriptorSupplier())
              .addMethod(getCreateCertificateProfileMethod())
              .addMethod(getGetCertificateProfileMethod())
              .addMethod(getListCertificateProfilesMethod())
              .addMethod(getUpdateCertificateProfileMethod())
              .addMethod(getDeleteCertificateProfileMethod())
              .addMethod(getCreateAcmeExternalAccountKeyMethod())
              .addMethod(getListAcmeExternalAccountKeysMethod())
              .addMethod(getRevokeAcmeExternalAccountKeyMethod())
              .addMethod(getListAcmeAccountsMethod())
              .addMethod(getRevokeAcmeAccountMethod())
              .build();
        }
      }
    }
    return result;
  }
}
