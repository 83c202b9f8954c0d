package dev.certmint.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * CertificateService issues, renews, lists and revokes certificates.
 * Every call needs a credential (see AccessTokenService): issuers may issue, renew and read
 * request status on the profiles their token lists, approvers approve and reject on theirs,
 * auditors read, admins do everything.
 * Errors carry google.rpc.Status details: BadRequest field violations for every policy rule
 * a request breaks, ErrorInfo (domain "certmint.dev") with a stable reason, and
 * PreconditionFailure when the system state refuses a request. In every service, a request
 * that breaks a field's limit ("At most ..." on the field), has a string that is not UTF-8 or
 * holds NUL, or is not a valid message, is INVALID_ARGUMENT (REQUEST_FIELD_INVALID with a
 * violation per field, index included; REQUEST_MALFORMED) before anything else is done.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: certmint/v1/certificate_service.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class CertificateServiceGrpc {

  private CertificateServiceGrpc() {}

  public static final String SERVICE_NAME = "certmint.v1.CertificateService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.IssueCertificateRequest,
      dev.certmint.v1.IssueCertificateResponse> getIssueCertificateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "IssueCertificate",
      requestType = dev.certmint.v1.IssueCertificateRequest.class,
      responseType = dev.certmint.v1.IssueCertificateResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.IssueCertificateRequest,
      dev.certmint.v1.IssueCertificateResponse> getIssueCertificateMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.IssueCertificateRequest, dev.certmint.v1.IssueCertificateResponse> getIssueCertificateMethod;
    if ((getIssueCertificateMethod = CertificateServiceGrpc.getIssueCertificateMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getIssueCertificateMethod = CertificateServiceGrpc.getIssueCertificateMethod) == null) {
          CertificateServiceGrpc.getIssueCertificateMethod = getIssueCertificateMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.IssueCertificateRequest, dev.certmint.v1.IssueCertificateResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "IssueCertificate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.IssueCertificateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.IssueCertificateResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("IssueCertificate"))
              .build();
        }
      }
    }
    return getIssueCertificateMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.RenewCertificateRequest,
      dev.certmint.v1.RenewCertificateResponse> getRenewCertificateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RenewCertificate",
      requestType = dev.certmint.v1.RenewCertificateRequest.class,
      responseType = dev.certmint.v1.RenewCertificateResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.RenewCertificateRequest,
      dev.certmint.v1.RenewCertificateResponse> getRenewCertificateMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.RenewCertificateRequest, dev.certmint.v1.RenewCertificateResponse> getRenewCertificateMethod;
    if ((getRenewCertificateMethod = CertificateServiceGrpc.getRenewCertificateMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getRenewCertificateMethod = CertificateServiceGrpc.getRenewCertificateMethod) == null) {
          CertificateServiceGrpc.getRenewCertificateMethod = getRenewCertificateMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.RenewCertificateRequest, dev.certmint.v1.RenewCertificateResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RenewCertificate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RenewCertificateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RenewCertificateResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("RenewCertificate"))
              .build();
        }
      }
    }
    return getRenewCertificateMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.GetRequestStatusRequest,
      dev.certmint.v1.GetRequestStatusResponse> getGetRequestStatusMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetRequestStatus",
      requestType = dev.certmint.v1.GetRequestStatusRequest.class,
      responseType = dev.certmint.v1.GetRequestStatusResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.GetRequestStatusRequest,
      dev.certmint.v1.GetRequestStatusResponse> getGetRequestStatusMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.GetRequestStatusRequest, dev.certmint.v1.GetRequestStatusResponse> getGetRequestStatusMethod;
    if ((getGetRequestStatusMethod = CertificateServiceGrpc.getGetRequestStatusMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getGetRequestStatusMethod = CertificateServiceGrpc.getGetRequestStatusMethod) == null) {
          CertificateServiceGrpc.getGetRequestStatusMethod = getGetRequestStatusMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.GetRequestStatusRequest, dev.certmint.v1.GetRequestStatusResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetRequestStatus"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetRequestStatusRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetRequestStatusResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("GetRequestStatus"))
              .build();
        }
      }
    }
    return getGetRequestStatusMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateRequest,
      dev.certmint.v1.GetCertificateResponse> getGetCertificateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetCertificate",
      requestType = dev.certmint.v1.GetCertificateRequest.class,
      responseType = dev.certmint.v1.GetCertificateResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateRequest,
      dev.certmint.v1.GetCertificateResponse> getGetCertificateMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.GetCertificateRequest, dev.certmint.v1.GetCertificateResponse> getGetCertificateMethod;
    if ((getGetCertificateMethod = CertificateServiceGrpc.getGetCertificateMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getGetCertificateMethod = CertificateServiceGrpc.getGetCertificateMethod) == null) {
          CertificateServiceGrpc.getGetCertificateMethod = getGetCertificateMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.GetCertificateRequest, dev.certmint.v1.GetCertificateResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetCertificate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCertificateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCertificateResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("GetCertificate"))
              .build();
        }
      }
    }
    return getGetCertificateMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificatesRequest,
      dev.certmint.v1.ListCertificatesResponse> getListCertificatesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListCertificates",
      requestType = dev.certmint.v1.ListCertificatesRequest.class,
      responseType = dev.certmint.v1.ListCertificatesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificatesRequest,
      dev.certmint.v1.ListCertificatesResponse> getListCertificatesMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificatesRequest, dev.certmint.v1.ListCertificatesResponse> getListCertificatesMethod;
    if ((getListCertificatesMethod = CertificateServiceGrpc.getListCertificatesMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getListCertificatesMethod = CertificateServiceGrpc.getListCertificatesMethod) == null) {
          CertificateServiceGrpc.getListCertificatesMethod = getListCertificatesMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.ListCertificatesRequest, dev.certmint.v1.ListCertificatesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListCertificates"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListCertificatesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListCertificatesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("ListCertificates"))
              .build();
        }
      }
    }
    return getListCertificatesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.RevokeCertificateRequest,
      dev.certmint.v1.RevokeCertificateResponse> getRevokeCertificateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RevokeCertificate",
      requestType = dev.certmint.v1.RevokeCertificateRequest.class,
      responseType = dev.certmint.v1.RevokeCertificateResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.RevokeCertificateRequest,
      dev.certmint.v1.RevokeCertificateResponse> getRevokeCertificateMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.RevokeCertificateRequest, dev.certmint.v1.RevokeCertificateResponse> getRevokeCertificateMethod;
    if ((getRevokeCertificateMethod = CertificateServiceGrpc.getRevokeCertificateMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getRevokeCertificateMethod = CertificateServiceGrpc.getRevokeCertificateMethod) == null) {
          CertificateServiceGrpc.getRevokeCertificateMethod = getRevokeCertificateMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.RevokeCertificateRequest, dev.certmint.v1.RevokeCertificateResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RevokeCertificate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RevokeCertificateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RevokeCertificateResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("RevokeCertificate"))
              .build();
        }
      }
    }
    return getRevokeCertificateMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.ReleaseCertificateHoldRequest,
      dev.certmint.v1.ReleaseCertificateHoldResponse> getReleaseCertificateHoldMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ReleaseCertificateHold",
      requestType = dev.certmint.v1.ReleaseCertificateHoldRequest.class,
      responseType = dev.certmint.v1.ReleaseCertificateHoldResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.ReleaseCertificateHoldRequest,
      dev.certmint.v1.ReleaseCertificateHoldResponse> getReleaseCertificateHoldMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.ReleaseCertificateHoldRequest, dev.certmint.v1.ReleaseCertificateHoldResponse> getReleaseCertificateHoldMethod;
    if ((getReleaseCertificateHoldMethod = CertificateServiceGrpc.getReleaseCertificateHoldMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getReleaseCertificateHoldMethod = CertificateServiceGrpc.getReleaseCertificateHoldMethod) == null) {
          CertificateServiceGrpc.getReleaseCertificateHoldMethod = getReleaseCertificateHoldMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.ReleaseCertificateHoldRequest, dev.certmint.v1.ReleaseCertificateHoldResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ReleaseCertificateHold"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ReleaseCertificateHoldRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ReleaseCertificateHoldResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("ReleaseCertificateHold"))
              .build();
        }
      }
    }
    return getReleaseCertificateHoldMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.ApproveCertificateRequestRequest,
      dev.certmint.v1.ApproveCertificateRequestResponse> getApproveCertificateRequestMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ApproveCertificateRequest",
      requestType = dev.certmint.v1.ApproveCertificateRequestRequest.class,
      responseType = dev.certmint.v1.ApproveCertificateRequestResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.ApproveCertificateRequestRequest,
      dev.certmint.v1.ApproveCertificateRequestResponse> getApproveCertificateRequestMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.ApproveCertificateRequestRequest, dev.certmint.v1.ApproveCertificateRequestResponse> getApproveCertificateRequestMethod;
    if ((getApproveCertificateRequestMethod = CertificateServiceGrpc.getApproveCertificateRequestMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getApproveCertificateRequestMethod = CertificateServiceGrpc.getApproveCertificateRequestMethod) == null) {
          CertificateServiceGrpc.getApproveCertificateRequestMethod = getApproveCertificateRequestMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.ApproveCertificateRequestRequest, dev.certmint.v1.ApproveCertificateRequestResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ApproveCertificateRequest"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ApproveCertificateRequestRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ApproveCertificateRequestResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("ApproveCertificateRequest"))
              .build();
        }
      }
    }
    return getApproveCertificateRequestMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.RejectCertificateRequestRequest,
      dev.certmint.v1.RejectCertificateRequestResponse> getRejectCertificateRequestMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RejectCertificateRequest",
      requestType = dev.certmint.v1.RejectCertificateRequestRequest.class,
      responseType = dev.certmint.v1.RejectCertificateRequestResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.RejectCertificateRequestRequest,
      dev.certmint.v1.RejectCertificateRequestResponse> getRejectCertificateRequestMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.RejectCertificateRequestRequest, dev.certmint.v1.RejectCertificateRequestResponse> getRejectCertificateRequestMethod;
    if ((getRejectCertificateRequestMethod = CertificateServiceGrpc.getRejectCertificateRequestMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getRejectCertificateRequestMethod = CertificateServiceGrpc.getRejectCertificateRequestMethod) == null) {
          CertificateServiceGrpc.getRejectCertificateRequestMethod = getRejectCertificateRequestMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.RejectCertificateRequestRequest, dev.certmint.v1.RejectCertificateRequestResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RejectCertificateRequest"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RejectCertificateRequestRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.RejectCertificateRequestResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("RejectCertificateRequest"))
              .build();
        }
      }
    }
    return getRejectCertificateRequestMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificateRequestsRequest,
      dev.certmint.v1.ListCertificateRequestsResponse> getListCertificateRequestsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListCertificateRequests",
      requestType = dev.certmint.v1.ListCertificateRequestsRequest.class,
      responseType = dev.certmint.v1.ListCertificateRequestsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificateRequestsRequest,
      dev.certmint.v1.ListCertificateRequestsResponse> getListCertificateRequestsMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.ListCertificateRequestsRequest, dev.certmint.v1.ListCertificateRequestsResponse> getListCertificateRequestsMethod;
    if ((getListCertificateRequestsMethod = CertificateServiceGrpc.getListCertificateRequestsMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getListCertificateRequestsMethod = CertificateServiceGrpc.getListCertificateRequestsMethod) == null) {
          CertificateServiceGrpc.getListCertificateRequestsMethod = getListCertificateRequestsMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.ListCertificateRequestsRequest, dev.certmint.v1.ListCertificateRequestsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListCertificateRequests"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListCertificateRequestsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.ListCertificateRequestsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("ListCertificateRequests"))
              .build();
        }
      }
    }
    return getListCertificateRequestsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.WatchCertificatesRequest,
      dev.certmint.v1.WatchCertificatesResponse> getWatchCertificatesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "WatchCertificates",
      requestType = dev.certmint.v1.WatchCertificatesRequest.class,
      responseType = dev.certmint.v1.WatchCertificatesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.WatchCertificatesRequest,
      dev.certmint.v1.WatchCertificatesResponse> getWatchCertificatesMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.WatchCertificatesRequest, dev.certmint.v1.WatchCertificatesResponse> getWatchCertificatesMethod;
    if ((getWatchCertificatesMethod = CertificateServiceGrpc.getWatchCertificatesMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getWatchCertificatesMethod = CertificateServiceGrpc.getWatchCertificatesMethod) == null) {
          CertificateServiceGrpc.getWatchCertificatesMethod = getWatchCertificatesMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.WatchCertificatesRequest, dev.certmint.v1.WatchCertificatesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "WatchCertificates"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.WatchCertificatesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.WatchCertificatesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("WatchCertificates"))
              .build();
        }
      }
    }
    return getWatchCertificatesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.certmint.v1.GetCurrentCertificateRequest,
      dev.certmint.v1.GetCurrentCertificateResponse> getGetCurrentCertificateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetCurrentCertificate",
      requestType = dev.certmint.v1.GetCurrentCertificateRequest.class,
      responseType = dev.certmint.v1.GetCurrentCertificateResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.certmint.v1.GetCurrentCertificateRequest,
      dev.certmint.v1.GetCurrentCertificateResponse> getGetCurrentCertificateMethod() {
    io.grpc.MethodDescriptor<dev.certmint.v1.GetCurrentCertificateRequest, dev.certmint.v1.GetCurrentCertificateResponse> getGetCurrentCertificateMethod;
    if ((getGetCurrentCertificateMethod = CertificateServiceGrpc.getGetCurrentCertificateMethod) == null) {
      synchronized (CertificateServiceGrpc.class) {
        if ((getGetCurrentCertificateMethod = CertificateServiceGrpc.getGetCurrentCertificateMethod) == null) {
          CertificateServiceGrpc.getGetCurrentCertificateMethod = getGetCurrentCertificateMethod =
              io.grpc.MethodDescriptor.<dev.certmint.v1.GetCurrentCertificateRequest, dev.certmint.v1.GetCurrentCertificateResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetCurrentCertificate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCurrentCertificateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.certmint.v1.GetCurrentCertificateResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CertificateServiceMethodDescriptorSupplier("GetCurrentCertificate"))
              .build();
        }
      }
    }
    return getGetCurrentCertificateMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CertificateServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificateServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificateServiceStub>() {
        @java.lang.Override
        public CertificateServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificateServiceStub(channel, callOptions);
        }
      };
    return CertificateServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CertificateServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificateServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificateServiceBlockingStub>() {
        @java.lang.Override
        public CertificateServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificateServiceBlockingStub(channel, callOptions);
        }
      };
    return CertificateServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CertificateServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CertificateServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CertificateServiceFutureStub>() {
        @java.lang.Override
        public CertificateServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CertificateServiceFutureStub(channel, callOptions);
        }
      };
    return CertificateServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * CertificateService issues, renews, lists and revokes certificates.
   * Every call needs a credential (see AccessTokenService): issuers may issue, renew and read
   * request status on the profiles their token lists, approvers approve and reject on theirs,
   * auditors read, admins do everything.
   * Errors carry google.rpc.Status details: BadRequest field violations for every policy rule
   * a request breaks, ErrorInfo (domain "certmint.dev") with a stable reason, and
   * PreconditionFailure when the system state refuses a request. In every service, a request
   * that breaks a field's limit ("At most ..." on the field), has a string that is not UTF-8 or
   * holds NUL, or is not a valid message, is INVALID_ARGUMENT (REQUEST_FIELD_INVALID with a
   * violation per field, index included; REQUEST_MALFORMED) before anything else is done.
   * </pre>
   */
  public static abstract class CertificateServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * IssueCertificate issues a certificate under a profile, from a CSR (the client keeps its
     * key) or from attributes (certmint generates the key pair and returns the private key once).
     * When the profile needs approval, the response carries a PENDING_APPROVAL request instead.
     * With request_id, repeating the call returns the same result and never a second certificate.
     * </pre>
     */
    public void issueCertificate(dev.certmint.v1.IssueCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.IssueCertificateResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getIssueCertificateMethod(), responseObserver);
    }

    /**
     * <pre>
     * RenewCertificate issues a successor to a certificate: same profile, subject and SANs, and
     * the same lifetime unless a TTL is given. FAILED_PRECONDITION for a revoked certificate, one
     * already renewed, or a disabled CA. Only the certificate's owner (the access token that
     * holds its key, Certificate.owner_access_token_id) or an admin may renew it, or any issuer
     * of the profile when it sets renewal.allow_shared_renewal; anyone else is PERMISSION_DENIED
     * (CERTIFICATE_NOT_OWNED) and nothing is written. A private key is never returned to anyone
     * but the owner.
     * </pre>
     */
    public void renewCertificate(dev.certmint.v1.RenewCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RenewCertificateResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRenewCertificateMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetRequestStatus returns a certificate request: its status, the failure reason, and the
     * certificate with its chain once issued.
     * </pre>
     */
    public void getRequestStatus(dev.certmint.v1.GetRequestStatusRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetRequestStatusResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetRequestStatusMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetCertificate returns one certificate by id or by serial number.
     * </pre>
     */
    public void getCertificate(dev.certmint.v1.GetCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetCertificateMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListCertificates lists certificates with filters, newest first, a page at a time.
     * </pre>
     */
    public void listCertificates(dev.certmint.v1.ListCertificatesRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificatesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListCertificatesMethod(), responseObserver);
    }

    /**
     * <pre>
     * RevokeCertificate revokes a certificate with an RFC 5280 reason; its serial appears in its
     * CA's next CRL. Revoking a revoked certificate changes nothing and returns it as it is,
     * except a certificate on hold (CERTIFICATE_HOLD), which takes any other reason given (RFC
     * 5280 5.3.1), at its first revocation time. Admin only. An intermediate CA is revoked with
     * CertificateAuthorityService.RevokeCertificateAuthority (its serial here: INVALID_ARGUMENT).
     * </pre>
     */
    public void revokeCertificate(dev.certmint.v1.RevokeCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeCertificateResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRevokeCertificateMethod(), responseObserver);
    }

    /**
     * <pre>
     * ReleaseCertificateHold releases a certificate revoked with CERTIFICATE_HOLD, the one
     * reversible reason (RFC 5280 5.3.1): it is ACTIVE again, its CA's next CRL leaves it out (a
     * full CRL simply drops the entry; removeFromCRL is for delta CRLs), OCSP answers good, and
     * watchers get a HOLD_RELEASED event. A certificate that is not on hold (valid, or revoked
     * for another reason, including a hold later made final) is FAILED_PRECONDITION
     * (CERTIFICATE_NOT_ON_HOLD), and one whose key was revoked for key compromise is
     * FAILED_PRECONDITION (KEY_BLOCKED); neither changes anything. Admin only, as revoking.
     * </pre>
     */
    public void releaseCertificateHold(dev.certmint.v1.ReleaseCertificateHoldRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ReleaseCertificateHoldResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getReleaseCertificateHoldMethod(), responseObserver);
    }

    /**
     * <pre>
     * ApproveCertificateRequest approves a PENDING_APPROVAL request. The request is checked
     * again against the policy as it is now, then issued. The access token that made the request
     * may not approve it (PERMISSION_DENIED, SELF_APPROVAL_NOT_ALLOWED), an admin token neither,
     * unless the profile sets allow_self_approval.
     * </pre>
     */
    public void approveCertificateRequest(dev.certmint.v1.ApproveCertificateRequestRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ApproveCertificateRequestResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getApproveCertificateRequestMethod(), responseObserver);
    }

    /**
     * <pre>
     * RejectCertificateRequest rejects a PENDING_APPROVAL request (an approver), or withdraws it
     * (its requester, an issuer included); nothing is issued.
     * </pre>
     */
    public void rejectCertificateRequest(dev.certmint.v1.RejectCertificateRequestRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RejectCertificateRequestResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRejectCertificateRequestMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListCertificateRequests lists the certificate requests that did not end in a certificate,
     * oldest first, a page at a time: with status PENDING_APPROVAL, an approver's queue. Issued
     * requests are listed as their certificates (ListCertificates). Admins and auditors see every
     * profile's requests, approvers those of the profiles their token lists, issuers their own.
     * </pre>
     */
    public void listCertificateRequests(dev.certmint.v1.ListCertificateRequestsRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificateRequestsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListCertificateRequestsMethod(), responseObserver);
    }

    /**
     * <pre>
     * WatchCertificates streams what happens to certificates as it happens: issuance, renewal
     * (by a client or by certmint, profile renewal.auto_renew), revocation, a failed automatic
     * renewal, and a certificate nearing its renewal time. It watches one certificate and its
     * successors, a profile, or everything the token may see. Every event carries a cursor: a
     * client that reconnects with the last cursor it received gets every later event once, from
     * any replica, also across restarts. Idle streams get KEEPALIVE events. The server ends the
     * stream with UNAVAILABLE when it stops; reconnect with the last cursor. Admins and auditors
     * see every profile, issuers and approvers the profiles their token lists; a private key
     * certmint generated is sent only to the certificate's owner.
     * </pre>
     */
    public void watchCertificates(dev.certmint.v1.WatchCertificatesRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.WatchCertificatesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWatchCertificatesMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetCurrentCertificate returns the newest certificate of a lineage: the certificate named,
     * or the successor that renewed it, or that one's successor, and so on.
     * </pre>
     */
    public void getCurrentCertificate(dev.certmint.v1.GetCurrentCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCurrentCertificateResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetCurrentCertificateMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getIssueCertificateMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.IssueCertificateRequest,
                dev.certmint.v1.IssueCertificateResponse>(
                  this, METHODID_ISSUE_CERTIFICATE)))
          .addMethod(
            getRenewCertificateMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.RenewCertificateRequest,
                dev.certmint.v1.RenewCertificateResponse>(
                  this, METHODID_RENEW_CERTIFICATE)))
          .addMethod(
            getGetRequestStatusMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.GetRequestStatusRequest,
                dev.certmint.v1.GetRequestStatusResponse>(
                  this, METHODID_GET_REQUEST_STATUS)))
          .addMethod(
            getGetCertificateMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.GetCertificateRequest,
                dev.certmint.v1.GetCertificateResponse>(
                  this, METHODID_GET_CERTIFICATE)))
          .addMethod(
            getListCertificatesMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.ListCertificatesRequest,
                dev.certmint.v1.ListCertificatesResponse>(
                  this, METHODID_LIST_CERTIFICATES)))
          .addMethod(
            getRevokeCertificateMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.RevokeCertificateRequest,
                dev.certmint.v1.RevokeCertificateResponse>(
                  this, METHODID_REVOKE_CERTIFICATE)))
          .addMethod(
            getReleaseCertificateHoldMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.ReleaseCertificateHoldRequest,
                dev.certmint.v1.ReleaseCertificateHoldResponse>(
                  this, METHODID_RELEASE_CERTIFICATE_HOLD)))
          .addMethod(
            getApproveCertificateRequestMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.ApproveCertificateRequestRequest,
                dev.certmint.v1.ApproveCertificateRequestResponse>(
                  this, METHODID_APPROVE_CERTIFICATE_REQUEST)))
          .addMethod(
            getRejectCertificateRequestMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.RejectCertificateRequestRequest,
                dev.certmint.v1.RejectCertificateRequestResponse>(
                  this, METHODID_REJECT_CERTIFICATE_REQUEST)))
          .addMethod(
            getListCertificateRequestsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.ListCertificateRequestsRequest,
                dev.certmint.v1.ListCertificateRequestsResponse>(
                  this, METHODID_LIST_CERTIFICATE_REQUESTS)))
          .addMethod(
            getWatchCertificatesMethod(),
            io.grpc.stub.ServerCalls.asyncServerStreamingCall(
              new MethodHandlers<
                dev.certmint.v1.WatchCertificatesRequest,
                dev.certmint.v1.WatchCertificatesResponse>(
                  this, METHODID_WATCH_CERTIFICATES)))
          .addMethod(
            getGetCurrentCertificateMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.certmint.v1.GetCurrentCertificateRequest,
                dev.certmint.v1.GetCurrentCertificateResponse>(
                  this, METHODID_GET_CURRENT_CERTIFICATE)))
          .build();
    }
  }

  /**
   * <pre>
   * CertificateService issues, renews, lists and revokes certificates.
   * Every call needs a credential (see AccessTokenService): issuers may issue, renew and read
   * request status on the profiles their token lists, approvers approve and reject on theirs,
   * auditors read, admins do everything.
   * Errors carry google.rpc.Status details: BadRequest field violations for every policy rule
   * a request breaks, ErrorInfo (domain "certmint.dev") with a stable reason, and
   * PreconditionFailure when the system state refuses a request. In every service, a request
   * that breaks a field's limit ("At most ..." on the field), has a string that is not UTF-8 or
   * holds NUL, or is not a valid message, is INVALID_ARGUMENT (REQUEST_FIELD_INVALID with a
   * violation per field, index included; REQUEST_MALFORMED) before anything else is done.
   * </pre>
   */
  public static final class CertificateServiceStub extends io.grpc.stub.AbstractAsyncStub<CertificateServiceStub> {
    private CertificateServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificateServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificateServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * IssueCertificate issues a certificate under a profile, from a CSR (the client keeps its
     * key) or from attributes (certmint generates the key pair and returns the private key once).
     * When the profile needs approval, the response carries a PENDING_APPROVAL request instead.
     * With request_id, repeating the call returns the same result and never a second certificate.
     * </pre>
     */
    public void issueCertificate(dev.certmint.v1.IssueCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.IssueCertificateResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getIssueCertificateMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RenewCertificate issues a successor to a certificate: same profile, subject and SANs, and
     * the same lifetime unless a TTL is given. FAILED_PRECONDITION for a revoked certificate, one
     * already renewed, or a disabled CA. Only the certificate's owner (the access token that
     * holds its key, Certificate.owner_access_token_id) or an admin may renew it, or any issuer
     * of the profile when it sets renewal.allow_shared_renewal; anyone else is PERMISSION_DENIED
     * (CERTIFICATE_NOT_OWNED) and nothing is written. A private key is never returned to anyone
     * but the owner.
     * </pre>
     */
    public void renewCertificate(dev.certmint.v1.RenewCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RenewCertificateResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRenewCertificateMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetRequestStatus returns a certificate request: its status, the failure reason, and the
     * certificate with its chain once issued.
     * </pre>
     */
    public void getRequestStatus(dev.certmint.v1.GetRequestStatusRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetRequestStatusResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetRequestStatusMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetCertificate returns one certificate by id or by serial number.
     * </pre>
     */
    public void getCertificate(dev.certmint.v1.GetCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetCertificateMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListCertificates lists certificates with filters, newest first, a page at a time.
     * </pre>
     */
    public void listCertificates(dev.certmint.v1.ListCertificatesRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificatesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListCertificatesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RevokeCertificate revokes a certificate with an RFC 5280 reason; its serial appears in its
     * CA's next CRL. Revoking a revoked certificate changes nothing and returns it as it is,
     * except a certificate on hold (CERTIFICATE_HOLD), which takes any other reason given (RFC
     * 5280 5.3.1), at its first revocation time. Admin only. An intermediate CA is revoked with
     * CertificateAuthorityService.RevokeCertificateAuthority (its serial here: INVALID_ARGUMENT).
     * </pre>
     */
    public void revokeCertificate(dev.certmint.v1.RevokeCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeCertificateResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRevokeCertificateMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ReleaseCertificateHold releases a certificate revoked with CERTIFICATE_HOLD, the one
     * reversible reason (RFC 5280 5.3.1): it is ACTIVE again, its CA's next CRL leaves it out (a
     * full CRL simply drops the entry; removeFromCRL is for delta CRLs), OCSP answers good, and
     * watchers get a HOLD_RELEASED event. A certificate that is not on hold (valid, or revoked
     * for another reason, including a hold later made final) is FAILED_PRECONDITION
     * (CERTIFICATE_NOT_ON_HOLD), and one whose key was revoked for key compromise is
     * FAILED_PRECONDITION (KEY_BLOCKED); neither changes anything. Admin only, as revoking.
     * </pre>
     */
    public void releaseCertificateHold(dev.certmint.v1.ReleaseCertificateHoldRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ReleaseCertificateHoldResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getReleaseCertificateHoldMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ApproveCertificateRequest approves a PENDING_APPROVAL request. The request is checked
     * again against the policy as it is now, then issued. The access token that made the request
     * may not approve it (PERMISSION_DENIED, SELF_APPROVAL_NOT_ALLOWED), an admin token neither,
     * unless the profile sets allow_self_approval.
     * </pre>
     */
    public void approveCertificateRequest(dev.certmint.v1.ApproveCertificateRequestRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ApproveCertificateRequestResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getApproveCertificateRequestMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RejectCertificateRequest rejects a PENDING_APPROVAL request (an approver), or withdraws it
     * (its requester, an issuer included); nothing is issued.
     * </pre>
     */
    public void rejectCertificateRequest(dev.certmint.v1.RejectCertificateRequestRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.RejectCertificateRequestResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRejectCertificateRequestMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListCertificateRequests lists the certificate requests that did not end in a certificate,
     * oldest first, a page at a time: with status PENDING_APPROVAL, an approver's queue. Issued
     * requests are listed as their certificates (ListCertificates). Admins and auditors see every
     * profile's requests, approvers those of the profiles their token lists, issuers their own.
     * </pre>
     */
    public void listCertificateRequests(dev.certmint.v1.ListCertificateRequestsRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificateRequestsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListCertificateRequestsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * WatchCertificates streams what happens to certificates as it happens: issuance, renewal
     * (by a client or by certmint, profile renewal.auto_renew), revocation, a failed automatic
     * renewal, and a certificate nearing its renewal time. It watches one certificate and its
     * successors, a profile, or everything the token may see. Every event carries a cursor: a
     * client that reconnects with the last cursor it received gets every later event once, from
     * any replica, also across restarts. Idle streams get KEEPALIVE events. The server ends the
     * stream with UNAVAILABLE when it stops; reconnect with the last cursor. Admins and auditors
     * see every profile, issuers and approvers the profiles their token lists; a private key
     * certmint generated is sent only to the certificate's owner.
     * </pre>
     */
    public void watchCertificates(dev.certmint.v1.WatchCertificatesRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.WatchCertificatesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getWatchCertificatesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetCurrentCertificate returns the newest certificate of a lineage: the certificate named,
     * or the successor that renewed it, or that one's successor, and so on.
     * </pre>
     */
    public void getCurrentCertificate(dev.certmint.v1.GetCurrentCertificateRequest request,
        io.grpc.stub.StreamObserver<dev.certmint.v1.GetCurrentCertificateResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetCurrentCertificateMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * CertificateService issues, renews, lists and revokes certificates.
   * Every call needs a credential (see AccessTokenService): issuers may issue, renew and read
   * request status on the profiles their token lists, approvers approve and reject on theirs,
   * auditors read, admins do everything.
   * Errors carry google.rpc.Status details: BadRequest field violations for every policy rule
   * a request breaks, ErrorInfo (domain "certmint.dev") with a stable reason, and
   * PreconditionFailure when the system state refuses a request. In every service, a request
   * that breaks a field's limit ("At most ..." on the field), has a string that is not UTF-8 or
   * holds NUL, or is not a valid message, is INVALID_ARGUMENT (REQUEST_FIELD_INVALID with a
   * violation per field, index included; REQUEST_MALFORMED) before anything else is done.
   * </pre>
   */
  public static final class CertificateServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<CertificateServiceBlockingStub> {
    private CertificateServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificateServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificateServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * IssueCertificate issues a certificate under a profile, from a CSR (the client keeps its
     * key) or from attributes (certmint generates the key pair and returns the private key once).
     * When the profile needs approval, the response carries a PENDING_APPROVAL request instead.
     * With request_id, repeating the call returns the same result and never a second certificate.
     * </pre>
     */
    public dev.certmint.v1.IssueCertificateResponse issueCertificate(dev.certmint.v1.IssueCertificateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getIssueCertificateMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RenewCertificate issues a successor to a certificate: same profile, subject and SANs, and
     * the same lifetime unless a TTL is given. FAILED_PRECONDITION for a revoked certificate, one
     * already renewed, or a disabled CA. Only the certificate's owner (the access token that
     * holds its key, Certificate.owner_access_token_id) or an admin may renew it, or any issuer
     * of the profile when it sets renewal.allow_shared_renewal; anyone else is PERMISSION_DENIED
     * (CERTIFICATE_NOT_OWNED) and nothing is written. A private key is never returned to anyone
     * but the owner.
     * </pre>
     */
    public dev.certmint.v1.RenewCertificateResponse renewCertificate(dev.certmint.v1.RenewCertificateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRenewCertificateMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetRequestStatus returns a certificate request: its status, the failure reason, and the
     * certificate with its chain once issued.
     * </pre>
     */
    public dev.certmint.v1.GetRequestStatusResponse getRequestStatus(dev.certmint.v1.GetRequestStatusRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetRequestStatusMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetCertificate returns one certificate by id or by serial number.
     * </pre>
     */
    public dev.certmint.v1.GetCertificateResponse getCertificate(dev.certmint.v1.GetCertificateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetCertificateMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListCertificates lists certificates with filters, newest first, a page at a time.
     * </pre>
     */
    public dev.certmint.v1.ListCertificatesResponse listCertificates(dev.certmint.v1.ListCertificatesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListCertificatesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RevokeCertificate revokes a certificate with an RFC 5280 reason; its serial appears in its
     * CA's next CRL. Revoking a revoked certificate changes nothing and returns it as it is,
     * except a certificate on hold (CERTIFICATE_HOLD), which takes any other reason given (RFC
     * 5280 5.3.1), at its first revocation time. Admin only. An intermediate CA is revoked with
     * CertificateAuthorityService.RevokeCertificateAuthority (its serial here: INVALID_ARGUMENT).
     * </pre>
     */
    public dev.certmint.v1.RevokeCertificateResponse revokeCertificate(dev.certmint.v1.RevokeCertificateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRevokeCertificateMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ReleaseCertificateHold releases a certificate revoked with CERTIFICATE_HOLD, the one
     * reversible reason (RFC 5280 5.3.1): it is ACTIVE again, its CA's next CRL leaves it out (a
     * full CRL simply drops the entry; removeFromCRL is for delta CRLs), OCSP answers good, and
     * watchers get a HOLD_RELEASED event. A certificate that is not on hold (valid, or revoked
     * for another reason, including a hold later made final) is FAILED_PRECONDITION
     * (CERTIFICATE_NOT_ON_HOLD), and one whose key was revoked for key compromise is
     * FAILED_PRECONDITION (KEY_BLOCKED); neither changes anything. Admin only, as revoking.
     * </pre>
     */
    public dev.certmint.v1.ReleaseCertificateHoldResponse releaseCertificateHold(dev.certmint.v1.ReleaseCertificateHoldRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getReleaseCertificateHoldMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ApproveCertificateRequest approves a PENDING_APPROVAL request. The request is checked
     * again against the policy as it is now, then issued. The access token that made the request
     * may not approve it (PERMISSION_DENIED, SELF_APPROVAL_NOT_ALLOWED), an admin token neither,
     * unless the profile sets allow_self_approval.
     * </pre>
     */
    public dev.certmint.v1.ApproveCertificateRequestResponse approveCertificateRequest(dev.certmint.v1.ApproveCertificateRequestRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getApproveCertificateRequestMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RejectCertificateRequest rejects a PENDING_APPROVAL request (an approver), or withdraws it
     * (its requester, an issuer included); nothing is issued.
     * </pre>
     */
    public dev.certmint.v1.RejectCertificateRequestResponse rejectCertificateRequest(dev.certmint.v1.RejectCertificateRequestRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRejectCertificateRequestMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListCertificateRequests lists the certificate requests that did not end in a certificate,
     * oldest first, a page at a time: with status PENDING_APPROVAL, an approver's queue. Issued
     * requests are listed as their certificates (ListCertificates). Admins and auditors see every
     * profile's requests, approvers those of the profiles their token lists, issuers their own.
     * </pre>
     */
    public dev.certmint.v1.ListCertificateRequestsResponse listCertificateRequests(dev.certmint.v1.ListCertificateRequestsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListCertificateRequestsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * WatchCertificates streams what happens to certificates as it happens: issuance, renewal
     * (by a client or by certmint, profile renewal.auto_renew), revocation, a failed automatic
     * renewal, and a certificate nearing its renewal time. It watches one certificate and its
     * successors, a profile, or everything the token may see. Every event carries a cursor: a
     * client that reconnects with the last cursor it received gets every later event once, from
     * any replica, also across restarts. Idle streams get KEEPALIVE events. The server ends the
     * stream with UNAVAILABLE when it stops; reconnect with the last cursor. Admins and auditors
     * see every profile, issuers and approvers the profiles their token lists; a private key
     * certmint generated is sent only to the certificate's owner.
     * </pre>
     */
    public java.util.Iterator<dev.certmint.v1.WatchCertificatesResponse> watchCertificates(
        dev.certmint.v1.WatchCertificatesRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getWatchCertificatesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetCurrentCertificate returns the newest certificate of a lineage: the certificate named,
     * or the successor that renewed it, or that one's successor, and so on.
     * </pre>
     */
    public dev.certmint.v1.GetCurrentCertificateResponse getCurrentCertificate(dev.certmint.v1.GetCurrentCertificateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetCurrentCertificateMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * CertificateService issues, renews, lists and revokes certificates.
   * Every call needs a credential (see AccessTokenService): issuers may issue, renew and read
   * request status on the profiles their token lists, approvers approve and reject on theirs,
   * auditors read, admins do everything.
   * Errors carry google.rpc.Status details: BadRequest field violations for every policy rule
   * a request breaks, ErrorInfo (domain "certmint.dev") with a stable reason, and
   * PreconditionFailure when the system state refuses a request. In every service, a request
   * that breaks a field's limit ("At most ..." on the field), has a string that is not UTF-8 or
   * holds NUL, or is not a valid message, is INVALID_ARGUMENT (REQUEST_FIELD_INVALID with a
   * violation per field, index included; REQUEST_MALFORMED) before anything else is done.
   * </pre>
   */
  public static final class CertificateServiceFutureStub extends io.grpc.stub.AbstractFutureStub<CertificateServiceFutureStub> {
    private CertificateServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CertificateServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CertificateServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * IssueCertificate issues a certificate under a profile, from a CSR (the client keeps its
     * key) or from attributes (certmint generates the key pair and returns the private key once).
     * When the profile needs approval, the response carries a PENDING_APPROVAL request instead.
     * With request_id, repeating the call returns the same result and never a second certificate.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.IssueCertificateResponse> issueCertificate(
        dev.certmint.v1.IssueCertificateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getIssueCertificateMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RenewCertificate issues a successor to a certificate: same profile, subject and SANs, and
     * the same lifetime unless a TTL is given. FAILED_PRECONDITION for a revoked certificate, one
     * already renewed, or a disabled CA. Only the certificate's owner (the access token that
     * holds its key, Certificate.owner_access_token_id) or an admin may renew it, or any issuer
     * of the profile when it sets renewal.allow_shared_renewal; anyone else is PERMISSION_DENIED
     * (CERTIFICATE_NOT_OWNED) and nothing is written. A private key is never returned to anyone
     * but the owner.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.RenewCertificateResponse> renewCertificate(
        dev.certmint.v1.RenewCertificateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRenewCertificateMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetRequestStatus returns a certificate request: its status, the failure reason, and the
     * certificate with its chain once issued.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.GetRequestStatusResponse> getRequestStatus(
        dev.certmint.v1.GetRequestStatusRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetRequestStatusMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetCertificate returns one certificate by id or by serial number.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.GetCertificateResponse> getCertificate(
        dev.certmint.v1.GetCertificateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetCertificateMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListCertificates lists certificates with filters, newest first, a page at a time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.ListCertificatesResponse> listCertificates(
        dev.certmint.v1.ListCertificatesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListCertificatesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RevokeCertificate revokes a certificate with an RFC 5280 reason; its serial appears in its
     * CA's next CRL. Revoking a revoked certificate changes nothing and returns it as it is,
     * except a certificate on hold (CERTIFICATE_HOLD), which takes any other reason given (RFC
     * 5280 5.3.1), at its first revocation time. Admin only. An intermediate CA is revoked with
     * CertificateAuthorityService.RevokeCertificateAuthority (its serial here: INVALID_ARGUMENT).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.RevokeCertificateResponse> revokeCertificate(
        dev.certmint.v1.RevokeCertificateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRevokeCertificateMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ReleaseCertificateHold releases a certificate revoked with CERTIFICATE_HOLD, the one
     * reversible reason (RFC 5280 5.3.1): it is ACTIVE again, its CA's next CRL leaves it out (a
     * full CRL simply drops the entry; removeFromCRL is for delta CRLs), OCSP answers good, and
     * watchers get a HOLD_RELEASED event. A certificate that is not on hold (valid, or revoked
     * for another reason, including a hold later made final) is FAILED_PRECONDITION
     * (CERTIFICATE_NOT_ON_HOLD), and one whose key was revoked for key compromise is
     * FAILED_PRECONDITION (KEY_BLOCKED); neither changes anything. Admin only, as revoking.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.ReleaseCertificateHoldResponse> releaseCertificateHold(
        dev.certmint.v1.ReleaseCertificateHoldRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getReleaseCertificateHoldMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ApproveCertificateRequest approves a PENDING_APPROVAL request. The request is checked
     * again against the policy as it is now, then issued. The access token that made the request
     * may not approve it (PERMISSION_DENIED, SELF_APPROVAL_NOT_ALLOWED), an admin token neither,
     * unless the profile sets allow_self_approval.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.ApproveCertificateRequestResponse> approveCertificateRequest(
        dev.certmint.v1.ApproveCertificateRequestRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getApproveCertificateRequestMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RejectCertificateRequest rejects a PENDING_APPROVAL request (an approver), or withdraws it
     * (its requester, an issuer included); nothing is issued.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.RejectCertificateRequestResponse> rejectCertificateRequest(
        dev.certmint.v1.RejectCertificateRequestRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRejectCertificateRequestMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListCertificateRequests lists the certificate requests that did not end in a certificate,
     * oldest first, a page at a time: with status PENDING_APPROVAL, an approver's queue. Issued
     * requests are listed as their certificates (ListCertificates). Admins and auditors see every
     * profile's requests, approvers those of the profiles their token lists, issuers their own.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.ListCertificateRequestsResponse> listCertificateRequests(
        dev.certmint.v1.ListCertificateRequestsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListCertificateRequestsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetCurrentCertificate returns the newest certificate of a lineage: the certificate named,
     * or the successor that renewed it, or that one's successor, and so on.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.certmint.v1.GetCurrentCertificateResponse> getCurrentCertificate(
        dev.certmint.v1.GetCurrentCertificateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetCurrentCertificateMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_ISSUE_CERTIFICATE = 0;
  private static final int METHODID_RENEW_CERTIFICATE = 1;
  private static final int METHODID_GET_REQUEST_STATUS = 2;
  private static final int METHODID_GET_CERTIFICATE = 3;
  private static final int METHODID_LIST_CERTIFICATES = 4;
  private static final int METHODID_REVOKE_CERTIFICATE = 5;
  private static final int METHODID_RELEASE_CERTIFICATE_HOLD = 6;
  private static final int METHODID_APPROVE_CERTIFICATE_REQUEST = 7;
  private static final int METHODID_REJECT_CERTIFICATE_REQUEST = 8;
  private static final int METHODID_LIST_CERTIFICATE_REQUESTS = 9;
  private static final int METHODID_WATCH_CERTIFICATES = 10;
  private static final int METHODID_GET_CURRENT_CERTIFICATE = 11;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final CertificateServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(CertificateServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_ISSUE_CERTIFICATE:
          serviceImpl.issueCertificate((dev.certmint.v1.IssueCertificateRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.IssueCertificateResponse>) responseObserver);
          break;
        case METHODID_RENEW_CERTIFICATE:
          serviceImpl.renewCertificate((dev.certmint.v1.RenewCertificateRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.RenewCertificateResponse>) responseObserver);
          break;
        case METHODID_GET_REQUEST_STATUS:
          serviceImpl.getRequestStatus((dev.certmint.v1.GetRequestStatusRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.GetRequestStatusResponse>) responseObserver);
          break;
        case METHODID_GET_CERTIFICATE:
          serviceImpl.getCertificate((dev.certmint.v1.GetCertificateRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.GetCertificateResponse>) responseObserver);
          break;
        case METHODID_LIST_CERTIFICATES:
          serviceImpl.listCertificates((dev.certmint.v1.ListCertificatesRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificatesResponse>) responseObserver);
          break;
        case METHODID_REVOKE_CERTIFICATE:
          serviceImpl.revokeCertificate((dev.certmint.v1.RevokeCertificateRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.RevokeCertificateResponse>) responseObserver);
          break;
        case METHODID_RELEASE_CERTIFICATE_HOLD:
          serviceImpl.releaseCertificateHold((dev.certmint.v1.ReleaseCertificateHoldRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.ReleaseCertificateHoldResponse>) responseObserver);
          break;
        case METHODID_APPROVE_CERTIFICATE_REQUEST:
          serviceImpl.approveCertificateRequest((dev.certmint.v1.ApproveCertificateRequestRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.ApproveCertificateRequestResponse>) responseObserver);
          break;
        case METHODID_REJECT_CERTIFICATE_REQUEST:
          serviceImpl.rejectCertificateRequest((dev.certmint.v1.RejectCertificateRequestRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.RejectCertificateRequestResponse>) responseObserver);
          break;
        case METHODID_LIST_CERTIFICATE_REQUESTS:
          serviceImpl.listCertificateRequests((dev.certmint.v1.ListCertificateRequestsRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.ListCertificateRequestsResponse>) responseObserver);
          break;
        case METHODID_WATCH_CERTIFICATES:
          serviceImpl.watchCertificates((dev.certmint.v1.WatchCertificatesRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.WatchCertificatesResponse>) responseObserver);
          break;
        case METHODID_GET_CURRENT_CERTIFICATE:
          serviceImpl.getCurrentCertificate((dev.certmint.v1.GetCurrentCertificateRequest) request,
              (io.grpc.stub.StreamObserver<dev.certmint.v1.GetCurrentCertificateResponse>) responseObserver);
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

  private static abstract class CertificateServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CertificateServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.certmint.v1.CertificateServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("CertificateService");
    }
  }

  private static final class CertificateServiceFileDescriptorSupplier
      extends CertificateServiceBaseDescriptorSupplier {
    CertificateServiceFileDescriptorSupplier() {}
  }

  private static final class CertificateServiceMethodDescriptorSupplier
      extends CertificateServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    CertificateServiceMethodDescriptorSupplier(String methodName) {
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
      synchronized (CertificateServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CertificateServiceFileDescriptorSupplier())
              .addMethod(getIssueCertificateMethod())
              .addMethod(getRenewCertificateMethod())
              .addMethod(getGetRequestStatusMethod())
              .addMethod(getGetCertificateMethod())
              .addMethod(getListCertificatesMethod())
              .addMethod(getRevokeCertificateMethod())
              .addMethod(getReleaseCertificateHoldMethod())
              .addMethod(getApproveCertificateRequestMethod())
              .addMethod(getRejectCertificateRequestMethod())
              .addMethod(getListCertificateRequestsMethod())
              .addMethod(getWatchCertificatesMethod())
              .addMethod(getGetCurrentCertificateMethod())
              .build();
        }
      }
    }
    return result;
  }
}
