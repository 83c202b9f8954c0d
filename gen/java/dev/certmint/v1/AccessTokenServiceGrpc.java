package dev.certmint.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * AccessTokenService manages who may call certmint. An access token grants one role, and for
 * the issuer and approver roles a list of certificate profiles. It is either a bearer secret
 * (sent as the `authorization: Bearer &lt;token&gt;` metadata) or a binding of a client certificate
 * identity (used when the server runs with mTLS). Admin only, except reads, which auditors
 * may do too. Every RPC of certmint except grpc.health.v1 and server reflection needs a
 * credential: without one, or with one that is malformed, unknown, expired or revoked, calls
 * answer UNAUTHENTICATED; outside the role, or naming a profile the token does not list (or
 * one that does not exist), PERMISSION_DENIED; a request or certificate of such a profile,
 * named by id or serial, NOT_FOUND, as one that does not exist.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: certmint/v1/access_token_service.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class AccessTokenServiceGrpc {

  private AccessTokenServiceGrpc() {}

  public static final String SERVICE_NAME = "certmint.v1.AccessTokenService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.CreateAccessTokenRequest,
      dev.certmint.v1.CreateAccessTokenResponse> getCreateAccessTokenMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateAccessToken",
      requestType = dev.certmint.v1.CreateAccessTokenRequest.class,
      responseType = dev.certmint.v1.CreateAccessTokenResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.CreateAccessTokenRequest,
      dev.certmint.v1.CreateAccessTokenResponse> getCreateAccessTokenMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.CreateAccessTokenRequest, dev.certmint.v1.CreateAccessTokenResponse> getCreateAccessTokenMethod;
    if ((getCreateAccessTokenMethod = AccessTokenServiceGrpc.getCreateAccessTokenMethod) == null) {
      synchronized (AccessTokenServiceGrpc.class) {
        if ((getCreateAccessTokenMethod = AccessTokenServiceGrpc.getCreateAccessTokenMethod) == null) {
          AccessTokenServiceGrpc.getCreateAccessTokenMethod = getCreateAccessTokenMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.CreateAccessTokenRequest, dev.certmint.v1.CreateAccessTokenResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateAccessToken"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateAccessTokenRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.CreateAccessTokenResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AccessTokenServiceMethodDescriptorSupplier("CreateAccessToken"))
              .build();
        }
      }
    }
    return getCreateAccessTokenMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.GetAccessTokenRequest,
      dev.certmint.v1.GetAccessTokenResponse> getGetAccessTokenMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetAccessToken",
      requestType = dev.certmint.v1.GetAccessTokenRequest.class,
      responseType = dev.certmint.v1.GetAccessTokenResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.GetAccessTokenRequest,
      dev.certmint.v1.GetAccessTokenResponse> getGetAccessTokenMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.GetAccessTokenRequest, dev.certmint.v1.GetAccessTokenResponse> getGetAccessTokenMethod;
    if ((getGetAccessTokenMethod = AccessTokenServiceGrpc.getGetAccessTokenMethod) == null) {
      synchronized (AccessTokenServiceGrpc.class) {
        if ((getGetAccessTokenMethod = AccessTokenServiceGrpc.getGetAccessTokenMethod) == null) {
          AccessTokenServiceGrpc.getGetAccessTokenMethod = getGetAccessTokenMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.GetAccessTokenRequest, dev.certmint.v1.GetAccessTokenResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetAccessToken"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetAccessTokenRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetAccessTokenResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AccessTokenServiceMethodDescriptorSupplier("GetAccessToken"))
              .build();
        }
      }
    }
    return getGetAccessTokenMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.ListAccessTokensRequest,
      dev.certmint.v1.ListAccessTokensResponse> getListAccessTokensMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListAccessTokens",
      requestType = dev.certmint.v1.ListAccessTokensRequest.class,
      responseType = dev.certmint.v1.ListAccessTokensResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.ListAccessTokensRequest,
      dev.certmint.v1.ListAccessTokensResponse> getListAccessTokensMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.ListAccessTokensRequest, dev.certmint.v1.ListAccessTokensResponse> getListAccessTokensMethod;
    if ((getListAccessTokensMethod = AccessTokenServiceGrpc.getListAccessTokensMethod) == null) {
      synchronized (AccessTokenServiceGrpc.class) {
        if ((getListAccessTokensMethod = AccessTokenServiceGrpc.getListAccessTokensMethod) == null) {
          AccessTokenServiceGrpc.getListAccessTokensMethod = getListAccessTokensMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.ListAccessTokensRequest, dev.certmint.v1.ListAccessTokensResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListAccessTokens"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListAccessTokensRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListAccessTokensResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AccessTokenServiceMethodDescriptorSupplier("ListAccessTokens"))
              .build();
        }
      }
    }
    return getListAccessTokensMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.RevokeAccessTokenRequest,
      dev.certmint.v1.RevokeAccessTokenResponse> getRevokeAccessTokenMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RevokeAccessToken",
      requestType = dev.certmint.v1.RevokeAccessTokenRequest.class,
      responseType = dev.certmint.v1.RevokeAccessTokenResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.RevokeAccessTokenRequest,
      dev.certmint.v1.RevokeAccessTokenResponse> getRevokeAccessTokenMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.RevokeAccessTokenRequest, dev.certmint.v1.RevokeAccessTokenResponse> getRevokeAccessTokenMethod;
    if ((getRevokeAccessTokenMethod = AccessTokenServiceGrpc.getRevokeAccessTokenMethod) == null) {
      synchronized (AccessTokenServiceGrpc.class) {
        if ((getRevokeAccessTokenMethod = AccessTokenServiceGrpc.getRevokeAccessTokenMethod) == null) {
          AccessTokenServiceGrpc.getRevokeAccessTokenMethod = getRevokeAccessTokenMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.RevokeAccessTokenRequest, dev.certmint.v1.RevokeAccessTokenResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RevokeAccessToken"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RevokeAccessTokenRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RevokeAccessTokenResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AccessTokenServiceMethodDescriptorSupplier("RevokeAccessToken"))
              .build();
        }
      }
    }
    return getRevokeAccessTokenMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static AccessTokenServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AccessTokenServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AccessTokenServiceStub>() {
        @java.lang.Override
        public AccessTokenServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AccessTokenServiceStub(channel, callOptions);
        }
      };
    return AccessTokenServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static AccessTokenServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AccessTokenServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AccessTokenServiceBlockingStub>() {
        @java.lang.Override
        public AccessTokenServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AccessTokenServiceBlockingStub(channel, callOptions);
        }
      };
    return AccessTokenServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static AccessTokenServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AccessTokenServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AccessTokenServiceFutureStub>() {
        @java.lang.Override
        public AccessTokenServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AccessTokenServiceFutureStub(channel, callOptions);
        }
      };
    return AccessTokenServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * AccessTokenService manages who may call certmint. An access token grants one role, and for
   * the issuer and approver roles a list of certificate profiles. It is either a bearer secret
   * (sent as the `authorization: Bearer &lt;token&gt;` metadata) or a binding of a client certificate
   * identity (used when the server runs with mTLS). Admin only, except reads, which auditors
   * may do too. Every RPC of certmint except grpc.health.v1 and server reflection needs a
   * credential: without one, or with one that is malformed, unknown, expired or revoked, calls
   * answer UNAUTHENTICATED; outside the role, or naming a profile the token does not list (or
   * one that does not exist), PERMISSION_DENIED; a request or certificate of such a profile,
   * named by id or serial, NOT_FOUND, as one that does not exist.
   * </pre>
   */
  public static abstract class AccessTokenServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * CreateAccessToken creates a token. The bearer secret is in the response and nowhere
     * else: certmint stores only its SHA-256 hash, so it cannot be shown again, except to a
     * repeat of the call with the same request_id within the replay window.
     * ALREADY_EXISTS for a taken slug or an active binding of the same identity and CA;
     * NOT_FOUND for an unknown profile or CA.
     * </pre>
     */
    public void createAccessToken(dev.certmint.v1.CreateAccessTokenRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateAccessTokenResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateAccessTokenMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetAccessToken returns one token (never its secret) by id or slug.
     * </pre>
     */
    public void getAccessToken(dev.certmint.v1.GetAccessTokenRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetAccessTokenResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetAccessTokenMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListAccessTokens lists tokens, oldest first, a page at a time, revoked and expired ones
     * included.
     * </pre>
     */
    public void listAccessTokens(dev.certmint.v1.ListAccessTokensRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListAccessTokensResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListAccessTokensMethod(), responseObserver);
    }

    /**
     * <pre>
     * RevokeAccessToken revokes a token at once: the next call made with it is UNAUTHENTICATED.
     * Revoking a revoked token changes nothing.
     * </pre>
     */
    public void revokeAccessToken(dev.certmint.v1.RevokeAccessTokenRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeAccessTokenResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRevokeAccessTokenMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getCreateAccessTokenMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.CreateAccessTokenRequest,
                dev.certmint.v1.CreateAccessTokenResponse>(
                  this, METHODID_CREATE_ACCESS_TOKEN)))
          .addMethod(
            getGetAccessTokenMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.GetAccessTokenRequest,
                dev.certmint.v1.GetAccessTokenResponse>(
                  this, METHODID_GET_ACCESS_TOKEN)))
          .addMethod(
            getListAccessTokensMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.ListAccessTokensRequest,
                dev.certmint.v1.ListAccessTokensResponse>(
                  this, METHODID_LIST_ACCESS_TOKENS)))
          .addMethod(
            getRevokeAccessTokenMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.RevokeAccessTokenRequest,
                dev.certmint.v1.RevokeAccessTokenResponse>(
                  this, METHODID_REVOKE_ACCESS_TOKEN)))
          .build();
    }
  }

  /**
   * <pre>
   * AccessTokenService manages who may call certmint. An access token grants one role, and for
   * the issuer and approver roles a list of certificate profiles. It is either a bearer secret
   * (sent as the `authorization: Bearer &lt;token&gt;` metadata) or a binding of a client certificate
   * identity (used when the server runs with mTLS). Admin only, except reads, which auditors
   * may do too. Every RPC of certmint except grpc.health.v1 and server reflection needs a
   * credential: without one, or with one that is malformed, unknown, expired or revoked, calls
   * answer UNAUTHENTICATED; outside the role, or naming a profile the token does not list (or
   * one that does not exist), PERMISSION_DENIED; a request or certificate of such a profile,
   * named by id or serial, NOT_FOUND, as one that does not exist.
   * </pre>
   */
  public static final class AccessTokenServiceStub extends io.grpc.stub.AbstractAsyncStub<AccessTokenServiceStub> {
    private AccessTokenServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AccessTokenServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AccessTokenServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateAccessToken creates a token. The bearer secret is in the response and nowhere
     * else: certmint stores only its SHA-256 hash, so it cannot be shown again, except to a
     * repeat of the call with the same request_id within the replay window.
     * ALREADY_EXISTS for a taken slug or an active binding of the same identity and CA;
     * NOT_FOUND for an unknown profile or CA.
     * </pre>
     */
    public void createAccessToken(dev.certmint.v1.CreateAccessTokenRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.CreateAccessTokenResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateAccessTokenMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetAccessToken returns one token (never its secret) by id or slug.
     * </pre>
     */
    public void getAccessToken(dev.certmint.v1.GetAccessTokenRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetAccessTokenResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetAccessTokenMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListAccessTokens lists tokens, oldest first, a page at a time, revoked and expired ones
     * included.
     * </pre>
     */
    public void listAccessTokens(dev.certmint.v1.ListAccessTokensRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListAccessTokensResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListAccessTokensMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RevokeAccessToken revokes a token at once: the next call made with it is UNAUTHENTICATED.
     * Revoking a revoked token changes nothing.
     * </pre>
     */
    public void revokeAccessToken(dev.certmint.v1.RevokeAccessTokenRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeAccessTokenResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRevokeAccessTokenMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * AccessTokenService manages who may call certmint. An access token grants one role, and for
   * the issuer and approver roles a list of certificate profiles. It is either a bearer secret
   * (sent as the `authorization: Bearer &lt;token&gt;` metadata) or a binding of a client certificate
   * identity (used when the server runs with mTLS). Admin only, except reads, which auditors
   * may do too. Every RPC of certmint except grpc.health.v1 and server reflection needs a
   * credential: without one, or with one that is malformed, unknown, expired or revoked, calls
   * answer UNAUTHENTICATED; outside the role, or naming a profile the token does not list (or
   * one that does not exist), PERMISSION_DENIED; a request or certificate of such a profile,
   * named by id or serial, NOT_FOUND, as one that does not exist.
   * </pre>
   */
  public static final class AccessTokenServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<AccessTokenServiceBlockingStub> {
    private AccessTokenServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AccessTokenServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AccessTokenServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateAccessToken creates a token. The bearer secret is in the response and nowhere
     * else: certmint stores only its SHA-256 hash, so it cannot be shown again, except to a
     * repeat of the call with the same request_id within the replay window.
     * ALREADY_EXISTS for a taken slug or an active binding of the same identity and CA;
     * NOT_FOUND for an unknown profile or CA.
     * </pre>
     */
    public dev.certmint.v1.CreateAccessTokenResponse createAccessToken(dev.certmint.v1.CreateAccessTokenRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateAccessTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetAccessToken returns one token (never its secret) by id or slug.
     * </pre>
     */
    public dev.certmint.v1.GetAccessTokenResponse getAccessToken(dev.certmint.v1.GetAccessTokenRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetAccessTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListAccessTokens lists tokens, oldest first, a page at a time, revoked and expired ones
     * included.
     * </pre>
     */
    public dev.certmint.v1.ListAccessTokensResponse listAccessTokens(dev.certmint.v1.ListAccessTokensRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListAccessTokensMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RevokeAccessToken revokes a token at once: the next call made with it is UNAUTHENTICATED.
     * Revoking a revoked token changes nothing.
     * </pre>
     */
    public dev.certmint.v1.RevokeAccessTokenResponse revokeAccessToken(dev.certmint.v1.RevokeAccessTokenRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRevokeAccessTokenMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * AccessTokenService manages who may call certmint. An access token grants one role, and for
   * the issuer and approver roles a list of certificate profiles. It is either a bearer secret
   * (sent as the `authorization: Bearer &lt;token&gt;` metadata) or a binding of a client certificate
   * identity (used when the server runs with mTLS). Admin only, except reads, which auditors
   * may do too. Every RPC of certmint except grpc.health.v1 and server reflection needs a
   * credential: without one, or with one that is malformed, unknown, expired or revoked, calls
   * answer UNAUTHENTICATED; outside the role, or naming a profile the token does not list (or
   * one that does not exist), PERMISSION_DENIED; a request or certificate of such a profile,
   * named by id or serial, NOT_FOUND, as one that does not exist.
   * </pre>
   */
  public static final class AccessTokenServiceFutureStub extends io.grpc.stub.AbstractFutureStub<AccessTokenServiceFutureStub> {
    private AccessTokenServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AccessTokenServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AccessTokenServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateAccessToken creates a token. The bearer secret is in the response and nowhere
     * else: certmint stores only its SHA-256 hash, so it cannot be shown again, except to a
     * repeat of the call with the same request_id within the replay window.
     * ALREADY_EXISTS for a taken slug or an active binding of the same identity and CA;
     * NOT_FOUND for an unknown profile or CA.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.CreateAccessTokenResponse> createAccessToken(
        dev.certmint.v1.CreateAccessTokenRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateAccessTokenMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetAccessToken returns one token (never its secret) by id or slug.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.GetAccessTokenResponse> getAccessToken(
        dev.certmint.v1.GetAccessTokenRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetAccessTokenMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListAccessTokens lists tokens, oldest first, a page at a time, revoked and expired ones
     * included.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.ListAccessTokensResponse> listAccessTokens(
        dev.certmint.v1.ListAccessTokensRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListAccessTokensMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RevokeAccessToken revokes a token at once: the next call made with it is UNAUTHENTICATED.
     * Revoking a revoked token changes nothing.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.RevokeAccessTokenResponse> revokeAccessToken(
        dev.certmint.v1.RevokeAccessTokenRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRevokeAccessTokenMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_ACCESS_TOKEN = 0;
  private static final int METHODID_GET_ACCESS_TOKEN = 1;
  private static final int METHODID_LIST_ACCESS_TOKENS = 2;
  private static final int METHODID_REVOKE_ACCESS_TOKEN = 3;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AccessTokenServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(AccessTokenServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CREATE_ACCESS_TOKEN:
          serviceImpl.createAccessToken((dev.certmint.v1.CreateAccessTokenRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.CreateAccessTokenResponse>) responseObserver);
          break;
        case METHODID_GET_ACCESS_TOKEN:
          serviceImpl.getAccessToken((dev.certmint.v1.GetAccessTokenRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.GetAccessTokenResponse>) responseObserver);
          break;
        case METHODID_LIST_ACCESS_TOKENS:
          serviceImpl.listAccessTokens((dev.certmint.v1.ListAccessTokensRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.ListAccessTokensResponse>) responseObserver);
          break;
        case METHODID_REVOKE_ACCESS_TOKEN:
          serviceImpl.revokeAccessToken((dev.certmint.v1.RevokeAccessTokenRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeAccessTokenResponse>) responseObserver);
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

  private static abstract class AccessTokenServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    AccessTokenServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.certmint.v1.AccessTokenServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("AccessTokenService");
    }
  }

  private static final class AccessTokenServiceFileDescriptorSupplier
      extends AccessTokenServiceBaseDescriptorSupplier {
    AccessTokenServiceFileDescriptorSupplier() {}
  }

  private static final class AccessTokenServiceMethodDescriptorSupplier
      extends AccessTokenServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    AccessTokenServiceMethodDescriptorSupplier(String methodName) {
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
      synchronized (AccessTokenServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new AccessTokenServiceFileDescriptorSupplier())
              .addMethod(getCreateAccessTokenMethod())
              .addMethod(getGetAccessTokenMethod())
              .addMethod(getListAccessTokensMethod())
              .addMethod(getRevokeAccessTokenMethod())
              .build();
        }
      }
    }
    return result;
  }
}
