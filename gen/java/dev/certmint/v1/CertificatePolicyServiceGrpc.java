package dev.certmint.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * CertificatePolicyService manages certificate policies: what a certificate request may
 * contain. A policy is checked when it is created or updated, so a malformed rule is
 * INVALID_ARGUMENT then and never a surprise at issuance.
 * Changes need an admin access token; reads (Get, List) an admin or auditor token.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: certmint/v1/certificate_policy_service.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class CertificatePolicyServiceGrpc {

  private CertificatePolicyServiceGrpc() {}

  public static final String SERVICE_NAME = "certmint.v1.CertificatePolicyService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.CreateCertificatePolicyRequest,
      dev.certmint.v1.CreateCertificatePolicyResponse> getCreateCertificatePolicyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateCertificatePolicy",
      requestType = dev.certmint.v1.CreateCertificatePolicyRequest.class,
      responseType = dev.certmint.v1.CreateCertificatePolicyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.CreateCertificatePolicyRequest,
      dev.certmint.v1.CreateCertificatePolicyResponse> getCreateCertificatePolicyMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.CreateCertificatePolicyRequest, dev.certmint.v1.CreateCertificatePolicyResponse> getCreateCertificatePolicyMethod;
    if ((getCreateCertificatePolicyMethod = CertificatePolicyServiceGrpc.getCreateCertificatePolicyMethod) == null) {
      synchronized (CertificatePolicyServiceGrpc.class) {
        if ((getCreateCertificatePolicyMethod = CertificatePolicyServiceGrpc.getCreateCertificatePolicyMethod) == null) {
          CertificatePolicyServiceGrpc.getCreateCertificatePolicyMethod = getCreateCertificatePolicyMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.CreateCertificatePolicyRequest, dev.certmint.v1.CreateCertificatePolicyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateCertificatePolicy"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateCertificatePolicyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateCertificatePolicyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificatePolicyServiceMethodDescriptorSupplier("CreateCertificatePolicy"))
              .build();
        }
      }
    }
    return getCreateCertificatePolicyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificatePolicyRequest,
      dev.certmint.v1.GetCertificatePolicyResponse> getGetCertificatePolicyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetCertificatePolicy",
      requestType = dev.certmint.v1.GetCertificatePolicyRequest.class,
      responseType = dev.certmint.v1.GetCertificatePolicyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificatePolicyRequest,
      dev.certmint.v1.GetCertificatePolicyResponse> getGetCertificatePolicyMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificatePolicyRequest, dev.certmint.v1.GetCertificatePolicyResponse> getGetCertificatePolicyMethod;
    if ((getGetCertificatePolicyMethod = CertificatePolicyServiceGrpc.getGetCertificatePolicyMethod) == null) {
      synchronized (CertificatePolicyServiceGrpc.class) {
        if ((getGetCertificatePolicyMethod = CertificatePolicyServiceGrpc.getGetCertificatePolicyMethod) == null) {
          CertificatePolicyServiceGrpc.getGetCertificatePolicyMethod = getGetCertificatePolicyMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.GetCertificatePolicyRequest, dev.certmint.v1.GetCertificatePolicyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetCertificatePolicy"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCertificatePolicyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCertificatePolicyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificatePolicyServiceMethodDescriptorSupplier("GetCertificatePolicy"))
              .build();
        }
      }
    }
    return getGetCertificatePolicyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificatePoliciesRequest,
      dev.certmint.v1.ListCertificatePoliciesResponse> getListCertificatePoliciesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListCertificatePolicies",
      requestType = dev.certmint.v1.ListCertificatePoliciesRequest.class,
      responseType = dev.certmint.v1.ListCertificatePoliciesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificatePoliciesRequest,
      dev.certmint.v1.ListCertificatePoliciesResponse> getListCertificatePoliciesMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificatePoliciesRequest, dev.certmint.v1.ListCertificatePoliciesResponse> getListCertificatePoliciesMethod;
    if ((getListCertificatePoliciesMethod = CertificatePolicyServiceGrpc.getListCertificatePoliciesMethod) == null) {
      synchronized (CertificatePolicyServiceGrpc.class) {
        if ((getListCertificatePoliciesMethod = CertificatePolicyServiceGrpc.getListCertificatePoliciesMethod) == null) {
          CertificatePolicyServiceGrpc.getListCertificatePoliciesMethod = getListCertificatePoliciesMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.ListCertificatePoliciesRequest, dev.certmint.v1.ListCertificatePoliciesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListCertificatePolicies"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListCertificatePoliciesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListCertificatePoliciesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificatePolicyServiceMethodDescriptorSupplier("ListCertificatePolicies"))
              .build();
        }
      }
    }
    return getListCertificatePoliciesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.UpdateCertificatePolicyRequest,
      dev.certmint.v1.UpdateCertificatePolicyResponse> getUpdateCertificatePolicyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateCertificatePolicy",
      requestType = dev.certmint.v1.UpdateCertificatePolicyRequest.class,
      responseType = dev.certmint.v1.UpdateCertificatePolicyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.UpdateCertificatePolicyRequest,
      dev.certmint.v1.UpdateCertificatePolicyResponse> getUpdateCertificatePolicyMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.UpdateCertificatePolicyRequest, dev.certmint.v1.UpdateCertificatePolicyResponse> getUpdateCertificatePolicyMethod;
    if ((getUpdateCertificatePolicyMethod = CertificatePolicyServiceGrpc.getUpdateCertificatePolicyMethod) == null) {
      synchronized (CertificatePolicyServiceGrpc.class) {
        if ((getUpdateCertificatePolicyMethod = CertificatePolicyServiceGrpc.getUpdateCertificatePolicyMethod) == null) {
          CertificatePolicyServiceGrpc.getUpdateCertificatePolicyMethod = getUpdateCertificatePolicyMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.UpdateCertificatePolicyRequest, dev.certmint.v1.UpdateCertificatePolicyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateCertificatePolicy"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.UpdateCertificatePolicyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.UpdateCertificatePolicyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificatePolicyServiceMethodDescriptorSupplier("UpdateCertificatePolicy"))
              .build();
        }
      }
    }
    return getUpdateCertificatePolicyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.DeleteCertificatePolicyRequest,
      dev.certmint.v1.DeleteCertificatePolicyResponse> getDeleteCertificatePolicyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteCertificatePolicy",
      requestType = dev.certmint.v1.DeleteCertificatePolicyRequest.class,
      responseType = dev.certmint.v1.DeleteCertificatePolicyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.DeleteCertificatePolicyRequest,
      dev.certmint.v1.DeleteCertificatePolicyResponse> getDeleteCertificatePolicyMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.DeleteCertificatePolicyRequest, dev.certmint.v1.DeleteCertificatePolicyResponse> getDeleteCertificatePolicyMethod;
    if ((getDeleteCertificatePolicyMethod = CertificatePolicyServiceGrpc.getDeleteCertificatePolicyMethod) == null) {
      synchronized (CertificatePolicyServiceGrpc.class) {
        if ((getDeleteCertificatePolicyMethod = CertificatePolicyServiceGrpc.getDeleteCertificatePolicyMethod) == null) {
          CertificatePolicyServiceGrpc.getDeleteCertificatePolicyMethod = getDeleteCertificatePolicyMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.DeleteCertificatePolicyRequest, dev.certmint.v1.DeleteCertificatePolicyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteCertificatePolicy"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.DeleteCertificatePolicyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.DeleteCertificatePolicyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificatePolicyServiceMethodDescriptorSupplier("DeleteCertificatePolicy"))
              .build();
        }
      }
    }
    return getDeleteCertificatePolicyMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CertificatePolicyServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificatePolicyServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificatePolicyServiceStub>() {
        @java.lang.Override
        public CertificatePolicyServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificatePolicyServiceStub(channel, callOptions);
        }
      };
    return CertificatePolicyServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CertificatePolicyServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificatePolicyServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificatePolicyServiceBlockingStub>() {
        @java.lang.Override
        public CertificatePolicyServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificatePolicyServiceBlockingStub(channel, callOptions);
        }
      };
    return CertificatePolicyServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CertificatePolicyServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificatePolicyServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificatePolicyServiceFutureStub>() {
        @java.lang.Override
        public CertificatePolicyServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificatePolicyServiceFutureStub(channel, callOptions);
        }
      };
    return CertificatePolicyServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * CertificatePolicyService manages certificate policies: what a certificate request may
   * contain. A policy is checked when it is created or updated, so a malformed rule is
   * INVALID_ARGUMENT then and never a surprise at issuance.
   * Changes need an admin access token; reads (Get, List) an admin or auditor token.
   * </pre>
   */
  public static abstract class CertificatePolicyServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * CreateCertificatePolicy creates a policy, from a preset or from explicit rules (or a
     * preset whose rules the request's fields then replace). ALREADY_EXISTS when the slug is taken.
     * </pre>
     */
    public void createCertificatePolicy(dev.certmint.v1.CreateCertificatePolicyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateCertificatePolicyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateCertificatePolicyMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetCertificatePolicy returns one policy by id or slug.
     * </pre>
     */
    public void getCertificatePolicy(dev.certmint.v1.GetCertificatePolicyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificatePolicyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetCertificatePolicyMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListCertificatePolicies lists policies, oldest first, a page at a time.
     * </pre>
     */
    public void listCertificatePolicies(dev.certmint.v1.ListCertificatePoliciesRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificatePoliciesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListCertificatePoliciesMethod(), responseObserver);
    }

    /**
     * <pre>
     * UpdateCertificatePolicy replaces the fields named in update_mask. ABORTED when the etag
     * is stale; INVALID_ARGUMENT when the result would be malformed or would break the
     * defaults of a profile that uses it.
     * </pre>
     */
    public void updateCertificatePolicy(dev.certmint.v1.UpdateCertificatePolicyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.UpdateCertificatePolicyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateCertificatePolicyMethod(), responseObserver);
    }

    /**
     * <pre>
     * DeleteCertificatePolicy deletes a policy. FAILED_PRECONDITION while a profile uses it.
     * </pre>
     */
    public void deleteCertificatePolicy(dev.certmint.v1.DeleteCertificatePolicyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.DeleteCertificatePolicyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteCertificatePolicyMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getCreateCertificatePolicyMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.CreateCertificatePolicyRequest,
                dev.certmint.v1.CreateCertificatePolicyResponse>(
                  this, METHODID_CREATE_CERTIFICATE_POLICY)))
          .addMethod(
            getGetCertificatePolicyMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.GetCertificatePolicyRequest,
                dev.certmint.v1.GetCertificatePolicyResponse>(
                  this, METHODID_GET_CERTIFICATE_POLICY)))
          .addMethod(
            getListCertificatePoliciesMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.ListCertificatePoliciesRequest,
                dev.certmint.v1.ListCertificatePoliciesResponse>(
                  this, METHODID_LIST_CERTIFICATE_POLICIES)))
          .addMethod(
            getUpdateCertificatePolicyMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.UpdateCertificatePolicyRequest,
                dev.certmint.v1.UpdateCertificatePolicyResponse>(
                  this, METHODID_UPDATE_CERTIFICATE_POLICY)))
          .addMethod(
            getDeleteCertificatePolicyMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.DeleteCertificatePolicyRequest,
                dev.certmint.v1.DeleteCertificatePolicyResponse>(
                  this, METHODID_DELETE_CERTIFICATE_POLICY)))
          .build();
    }
  }

  /**
   * <pre>
   * CertificatePolicyService manages certificate policies: what a certificate request may
   * contain. A policy is checked when it is created or updated, so a malformed rule is
   * INVALID_ARGUMENT then and never a surprise at issuance.
   * Changes need an admin access token; reads (Get, List) an admin or auditor token.
   * </pre>
   */
  public static final class CertificatePolicyServiceStub extends io.grpc.stub.AbstractAsyncStub<CertificatePolicyServiceStub> {
    private CertificatePolicyServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificatePolicyServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificatePolicyServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateCertificatePolicy creates a policy, from a preset or from explicit rules (or a
     * preset whose rules the request's fields then replace). ALREADY_EXISTS when the slug is taken.
     * </pre>
     */
    public void createCertificatePolicy(dev.certmint.v1.CreateCertificatePolicyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateCertificatePolicyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateCertificatePolicyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetCertificatePolicy returns one policy by id or slug.
     * </pre>
     */
    public void getCertificatePolicy(dev.certmint.v1.GetCertificatePolicyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificatePolicyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetCertificatePolicyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListCertificatePolicies lists policies, oldest first, a page at a time.
     * </pre>
     */
    public void listCertificatePolicies(dev.certmint.v1.ListCertificatePoliciesRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificatePoliciesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListCertificatePoliciesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * UpdateCertificatePolicy replaces the fields named in update_mask. ABORTED when the etag
     * is stale; INVALID_ARGUMENT when the result would be malformed or would break the
     * defaults of a profile that uses it.
     * </pre>
     */
    public void updateCertificatePolicy(dev.certmint.v1.UpdateCertificatePolicyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.UpdateCertificatePolicyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateCertificatePolicyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * DeleteCertificatePolicy deletes a policy. FAILED_PRECONDITION while a profile uses it.
     * </pre>
     */
    public void deleteCertificatePolicy(dev.certmint.v1.DeleteCertificatePolicyRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.DeleteCertificatePolicyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteCertificatePolicyMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * CertificatePolicyService manages certificate policies: what a certificate request may
   * contain. A policy is checked when it is created or updated, so a malformed rule is
   * INVALID_ARGUMENT then and never a surprise at issuance.
   * Changes need an admin access token; reads (Get, List) an admin or auditor token.
   * </pre>
   */
  public static final class CertificatePolicyServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<CertificatePolicyServiceBlockingStub> {
    private CertificatePolicyServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificatePolicyServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificatePolicyServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateCertificatePolicy creates a policy, from a preset or from explicit rules (or a
     * preset whose rules the request's fields then replace). ALREADY_EXISTS when the slug is taken.
     * </pre>
     */
    public dev.certmint.v1.CreateCertificatePolicyResponse createCertificatePolicy(dev.certmint.v1.CreateCertificatePolicyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateCertificatePolicyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetCertificatePolicy returns one policy by id or slug.
     * </pre>
     */
    public dev.certmint.v1.GetCertificatePolicyResponse getCertificatePolicy(dev.certmint.v1.GetCertificatePolicyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetCertificatePolicyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListCertificatePolicies lists policies, oldest first, a page at a time.
     * </pre>
     */
    public dev.certmint.v1.ListCertificatePoliciesResponse listCertificatePolicies(dev.certmint.v1.ListCertificatePoliciesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListCertificatePoliciesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * UpdateCertificatePolicy replaces the fields named in update_mask. ABORTED when the etag
     * is stale; INVALID_ARGUMENT when the result would be malformed or would break the
     * defaults of a profile that uses it.
     * </pre>
     */
    public dev.certmint.v1.UpdateCertificatePolicyResponse updateCertificatePolicy(dev.certmint.v1.UpdateCertificatePolicyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateCertificatePolicyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * DeleteCertificatePolicy deletes a policy. FAILED_PRECONDITION while a profile uses it.
     * </pre>
     */
    public dev.certmint.v1.DeleteCertificatePolicyResponse deleteCertificatePolicy(dev.certmint.v1.DeleteCertificatePolicyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteCertificatePolicyMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * CertificatePolicyService manages certificate policies: what a certificate request may
   * contain. A policy is checked when it is created or updated, so a malformed rule is
   * INVALID_ARGUMENT then and never a surprise at issuance.
   * Changes need an admin access token; reads (Get, List) an admin or auditor token.
   * </pre>
   */
  public static final class CertificatePolicyServiceFutureStub extends io.grpc.stub.AbstractFutureStub<CertificatePolicyServiceFutureStub> {
    private CertificatePolicyServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificatePolicyServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificatePolicyServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateCertificatePolicy creates a policy, from a preset or from explicit rules (or a
     * preset whose rules the request's fields then replace). ALREADY_EXISTS when the slug is taken.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.CreateCertificatePolicyResponse> createCertificatePolicy(
        dev.certmint.v1.CreateCertificatePolicyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateCertificatePolicyMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetCertificatePolicy returns one policy by id or slug.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.GetCertificatePolicyResponse> getCertificatePolicy(
        dev.certmint.v1.GetCertificatePolicyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetCertificatePolicyMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListCertificatePolicies lists policies, oldest first, a page at a time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.ListCertificatePoliciesResponse> listCertificatePolicies(
        dev.certmint.v1.ListCertificatePoliciesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListCertificatePoliciesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * UpdateCertificatePolicy replaces the fields named in update_mask. ABORTED when the etag
     * is stale; INVALID_ARGUMENT when the result would be malformed or would break the
     * defaults of a profile that uses it.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.UpdateCertificatePolicyResponse> updateCertificatePolicy(
        dev.certmint.v1.UpdateCertificatePolicyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateCertificatePolicyMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * DeleteCertificatePolicy deletes a policy. FAILED_PRECONDITION while a profile uses it.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.DeleteCertificatePolicyResponse> deleteCertificatePolicy(
        dev.certmint.v1.DeleteCertificatePolicyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteCertificatePolicyMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_CERTIFICATE_POLICY = 0;
  private static final int METHODID_GET_CERTIFICATE_POLICY = 1;
  private static final int METHODID_LIST_CERTIFICATE_POLICIES = 2;
  private static final int METHODID_UPDATE_CERTIFICATE_POLICY = 3;
  private static final int METHODID_DELETE_CERTIFICATE_POLICY = 4;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final CertificatePolicyServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(CertificatePolicyServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CREATE_CERTIFICATE_POLICY:
          serviceImpl.createCertificatePolicy((dev.certmint.v1.CreateCertificatePolicyRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.CreateCertificatePolicyResponse>) responseObserver);
          break;
        case METHODID_GET_CERTIFICATE_POLICY:
          serviceImpl.getCertificatePolicy((dev.certmint.v1.GetCertificatePolicyRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificatePolicyResponse>) responseObserver);
          break;
        case METHODID_LIST_CERTIFICATE_POLICIES:
          serviceImpl.listCertificatePolicies((dev.certmint.v1.ListCertificatePoliciesRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificatePoliciesResponse>) responseObserver);
          break;
        case METHODID_UPDATE_CERTIFICATE_POLICY:
          serviceImpl.updateCertificatePolicy((dev.certmint.v1.UpdateCertificatePolicyRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.UpdateCertificatePolicyResponse>) responseObserver);
          break;
        case METHODID_DELETE_CERTIFICATE_POLICY:
          serviceImpl.deleteCertificatePolicy((dev.certmint.v1.DeleteCertificatePolicyRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.DeleteCertificatePolicyResponse>) responseObserver);
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

  private static abstract class CertificatePolicyServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CertificatePolicyServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.certmint.v1.CertificatePolicyServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("CertificatePolicyService");
    }
  }

  private static final class CertificatePolicyServiceFileDescriptorSupplier
      extends CertificatePolicyServiceBaseDescriptorSupplier {
    CertificatePolicyServiceFileDescriptorSupplier() {}
  }

  private static final class CertificatePolicyServiceMethodDescriptorSupplier
      extends CertificatePolicyServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    CertificatePolicyServiceMethodDescriptorSupplier(String methodName) {
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
      synchronized (CertificatePolicyServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CertificatePolicyServiceFileDescriptorSupplier())
              .addMethod(getCreateCertificatePolicyMethod())
              .addMethod(getGetCertificatePolicyMethod())
              .addMethod(getListCertificatePoliciesMethod())
              .addMethod(getUpdateCertificatePolicyMethod())
              .addMethod(getDeleteCertificatePolicyMethod())
              .build();
        }
      }
    }
    return result;
  }
}
