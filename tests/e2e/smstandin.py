#!/usr/bin/python3
# smstandin.py - a stand-in for the SageMaker and CloudWatch Logs APIs (JSON 1.1), for the
# sagemaker engine's tests: there is no AWS account here, so the tests hold sagerun to AWS's
# own service definition instead.  Strict where it matters:
#
#   - every request's SigV4 signature is recomputed with botocore's own signer (SigV4Auth)
#     over the headers the request says it signed, and compared;
#   - every request body is validated with botocore's ParamValidator against the service
#     model botocore ships (the definition the SDKs are generated from), plus the enums,
#     patterns and maximum lengths ParamValidator leaves out;
#   - an X-Amz-Target it does not serve is refused.
#
# It plays each job's status transitions in time (STANDIN_* variables in the job's
# Environment choose the outcome and pace) and serves each host's log events in small pages.
#
#   smstandin.py PORT STATEFILE          serve until killed; writes "ready" to STATEFILE
#   smstandin.py --validate OP FILE      check one request file as the server would
#   GET /_standin/throttle?n=N           the next N calls answer ThrottlingException
#   GET /_standin/fail?n=N&status=S&code=C&message=M
#                                        the next N calls answer HTTP S with error C, M
#   GET /_standin/requests               every call so far, as JSON lines
#
# Debian's python3-botocore (/usr/bin/python3), never another botocore on PATH.
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.validate import ParamValidator

# The test's credentials: the same keys its S3 server checks, when it has one.
ACCESS_KEY = os.environ.get("AWS_ACCESS_KEY_ID", "AKIDSTANDIN")
SECRET_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY", "standin/secret+KEY")
ACCOUNT = "123456789012"
LOG_PAGE = 3  # events per GetLogEvents page: pages are exercised even by small jobs
STREAM_PAGE = 2

session = botocore.session.get_session()
MODELS = {
    "SageMaker": ("sagemaker", session.get_service_model("sagemaker")),
    "Logs_20140328": ("logs", session.get_service_model("logs")),
}

lock = threading.Lock()
jobs = {}  # name -> job
calls = []
throttle_left = [0]
fail_next = [0, 500, "InternalFailure", ""]  # /_standin/fail: count, status, code, message


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def extra_checks(value, shape, path="", errs=None):
    """What ParamValidator does not check: enums, patterns, maximum lengths."""
    errs = [] if errs is None else errs
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        for k, v in value.items():
            if k in shape.members:
                extra_checks(v, shape.members[k], f"{path}.{k}" if path else k, errs)
    elif t == "list" and isinstance(value, list):
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            errs.append(f"{path}: more than {shape.metadata['max']} items")
        for i, v in enumerate(value):
            extra_checks(v, shape.member, f"{path}[{i}]", errs)
    elif t == "map" and isinstance(value, dict):
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            errs.append(f"{path}: more than {shape.metadata['max']} entries")
        for k, v in value.items():
            extra_checks(k, shape.key, f"{path}(key {k})", errs)
            extra_checks(v, shape.value, f"{path}.{k}", errs)
    elif t == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            errs.append(f"{path}: {value!r} not in {shape.enum}")
        p = shape.metadata.get("pattern")
        if p:
            try:
                rx = re.compile(p)
            except re.error:
                rx = None  # Java-only classes (\p{L}): botocore's model has a few
            if rx and not rx.fullmatch(value) and not rx.match(value):
                errs.append(f"{path}: {value!r} does not match {p}")
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            errs.append(f"{path}: longer than {shape.metadata['max']}")
    return errs


def validate(model, op, params):
    shape = model.operation_model(op).input_shape
    report = ParamValidator().validate(params, shape)
    errs = report.generate_report().splitlines() if report.has_errors() else []
    errs += extra_checks(params, shape)
    if errs:
        raise ApiError(400, "ValidationException", "; ".join(errs))


def check_signature(headers, body, host, service):
    auth = headers.get("Authorization", "")
    m = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
        r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})", auth)
    if not m:
        raise ApiError(400, "IncompleteSignature", f"malformed Authorization: {auth[:60]!r}")
    ak, date, region, svc, signed, sig = m.groups()
    if ak != ACCESS_KEY:
        raise ApiError(400, "UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    if svc != service:
        raise ApiError(400, "InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'.")
    amz_date = headers.get("X-Amz-Date", "")
    if not amz_date.startswith(date):
        raise ApiError(400, "InvalidSignatureException", "X-Amz-Date does not match the credential's date")
    names = signed.split(";")
    for need in ("host", "x-amz-date"):
        if need not in names:
            raise ApiError(400, "InvalidSignatureException", f"{need} is not signed")
    # The request as the client signed it, signed again by botocore.
    req = AWSRequest(method="POST", url=f"http://{host}/", data=body,
                     headers={n: headers.get(n, "") for n in names})
    req.context["timestamp"] = amz_date
    token = headers.get("X-Amz-Security-Token")
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, token), service, region)
    if signer.signed_headers(signer.headers_to_sign(req)) != signed:
        raise ApiError(400, "InvalidSignatureException", "signed header list differs")
    creq = signer.canonical_request(req)
    mine = signer.signature(signer.string_to_sign(req, creq), req)
    if mine != sig:
        raise ApiError(403, "InvalidSignatureException",
                       "The request signature we calculated does not match the signature you "
                       "provided. Check your AWS Secret Access Key and signing method.")
    return region


# ---- jobs --------------------------------------------------------------------------------

TRAIN_STEPS = [
    ("Starting", "Starting the training job"),
    ("Starting", "Preparing the instances for training"),
    ("Downloading", "Downloading the training image"),
    ("Training", "Training image download completed. Training in progress."),
    ("Uploading", "Uploading generated training model"),
]


class Job:
    def __init__(self, kind, region, req):
        self.kind, self.req = kind, req
        self.name = req[f"{kind}JobName"]
        self.arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:{'training' if kind == 'Training' else 'processing'}-job/{self.name.lower()}"
        env = req.get("Environment", {})
        self.outcome = env.get("STANDIN_OUTCOME", "Completed")
        self.step = float(env.get("STANDIN_STEP_MS", "100")) / 1000
        self.hold = env.get("STANDIN_HOLD") == "1"  # stays in Training until stopped
        self.lines = int(env.get("STANDIN_LOG_LINES", "4"))
        # CloudWatch's ingestion: an event is seen this long after it was written
        self.lag = float(env.get("STANDIN_LOG_LAG_MS", "0")) / 1000
        # how long it stays Stopping once stopped (default: one step)
        self.stopping = float(env.get("STANDIN_STOPPING_MS", "0")) / 1000 or self.step
        self.created = time.time()
        self.stop_at = None
        count = (req.get("ResourceConfig") or req.get("ProcessingResources", {}).get("ClusterConfig", {})).get("InstanceCount", 1)
        self.hosts = count

    def timeline(self, now):
        """[(status, message, start)], the job's primary status and when it ended."""
        t0, st = self.created, self.step
        steps = [(s, m, t0 + i * st) for i, (s, m) in enumerate(TRAIN_STEPS)]
        train_start = steps[3][2]
        if self.hold or self.stop_at:
            steps = steps[:4]
        end = None
        if self.stop_at:
            stop_at = max(self.stop_at, train_start)
            steps = [s for s in steps if s[2] <= stop_at]
            steps.append(("Stopping", "Stopping the training job", stop_at))
            steps.append(("Stopped", "Training job stopped", stop_at + self.stopping))
            end = ("Stopped", stop_at + self.stopping)
        elif not self.hold:
            last = t0 + len(TRAIN_STEPS) * st
            word = "Completed" if self.outcome == "Completed" else "Failed"
            msg = "Training job completed" if word == "Completed" else "Training job failed. Reason: AlgorithmError: ExitCode 1"
            steps.append((word, msg, last))
            end = (word, last)
        steps = [s for s in steps if s[2] <= now]
        if end and end[1] > now:
            end = None
        primary = end[0] if end else ("Stopping" if steps and steps[-1][0] == "Stopping" else "InProgress")
        return steps, primary, end

    def training_started(self, now):
        return now >= self.created + 3 * self.step

    def describe(self, now):
        steps, primary, end = self.timeline(now)
        d = dict(self.req)
        d.pop("Tags", None)
        d[f"{self.kind}JobArn"] = self.arn
        d[f"{self.kind}JobStatus"] = primary
        d["CreationTime"] = self.created
        d["LastModifiedTime"] = steps[-1][2] if steps else self.created
        if self.kind == "Training":
            d["SecondaryStatus"] = steps[-1][0] if steps else "Starting"
            tr = []
            for i, (s, m, at) in enumerate(steps):
                e = {"Status": s, "StartTime": at, "StatusMessage": m}
                if i + 1 < len(steps):
                    e["EndTime"] = steps[i + 1][2]
                elif end:
                    e["EndTime"] = at
                tr.append(e)
            d["SecondaryStatusTransitions"] = tr
            d["ModelArtifacts"] = {"S3ModelArtifacts": f"{self.req['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{self.name}/output/model.tar.gz"}
            if self.training_started(now):
                d["TrainingStartTime"] = self.created + 3 * self.step
            if end:
                d["TrainingEndTime"] = end[1]
        else:
            if self.training_started(now):
                d["ProcessingStartTime"] = self.created + 3 * self.step
            if end:
                d["ProcessingEndTime"] = end[1]
                if primary == "Completed":
                    d["ExitMessage"] = "all done"
        if end and end[0] == "Failed":
            d["FailureReason"] = "AlgorithmError: ExitCode 1: ValueError: bad lr" if self.kind == "Training" else "AlgorithmError: See job logs for more information"
        return d

    def events(self, host, now):
        """Host `host`'s log events so far: a line every step/LINES once Training started."""
        if not self.training_started(now):
            return []
        start = self.created + 3 * self.step
        out = []
        for k in range(self.lines):
            at = start + (k + 1) * self.step / (self.lines + 1)
            if at + self.lag > now:
                break
            out.append({"timestamp": int(at * 1000), "message": f"algo-{host} line {k + 1}",
                        "ingestionTime": int((at + self.lag) * 1000) + 5})
        return out


def job_of(name, kind):
    j = jobs.get(name)
    if not j or j.kind != kind:
        raise ApiError(400, "ValidationException", "Requested resource not found.")
    return j


def sagemaker_op(op, p, region):
    now = time.time()
    m = re.fullmatch(r"(Create|Describe|Stop)(Training|Processing)Job", op)
    if not m:
        raise ApiError(400, "UnknownOperationException", f"the stand-in does not serve {op}")
    verb, kind = m.groups()
    name = p[f"{kind}JobName"]
    if verb == "Create":
        if "RoleArn" not in p:
            raise ApiError(400, "ValidationException", "RoleArn is required")
        if name in jobs:
            raise ApiError(400, "ResourceInUse",
                           f"{kind} job names must be unique within an AWS account and region, "
                           f"and a {kind.lower()} job with this name already exists ({jobs[name].arn})")
        j = Job(kind, region, p)
        jobs[name] = j
        return {f"{kind}JobArn": j.arn}
    j = job_of(name, kind)
    if verb == "Describe":
        return j.describe(now)
    _, primary, _ = j.timeline(now)
    if primary != "InProgress":
        raise ApiError(400, "ValidationException",
                       f"The request was rejected because the {kind.lower()} job is in status {primary}.")
    j.stop_at = now
    return {}


def stream_names(j):
    return [f"{j.name}/algo-{h}-{int(j.created)}" for h in range(1, j.hosts + 1)]


def logs_op(op, p):
    now = time.time()
    if op == "DescribeLogStreams":
        group = p["logGroupName"]
        prefix = p.get("logStreamNamePrefix", "")
        kind = {"/aws/sagemaker/TrainingJobs": "Training", "/aws/sagemaker/ProcessingJobs": "Processing"}.get(group)
        if not kind:
            raise ApiError(400, "ResourceNotFoundException", "The specified log group does not exist.")
        names = []
        for j in jobs.values():
            if j.kind == kind and j.training_started(now):
                names += [n for n in stream_names(j) if n.startswith(prefix)]
        names.sort()
        start = int(p.get("nextToken", "0"))
        page = names[start:start + STREAM_PAGE]
        out = {"logStreams": [{"logStreamName": n, "creationTime": int(now * 1000)} for n in page]}
        if start + STREAM_PAGE < len(names):
            out["nextToken"] = str(start + STREAM_PAGE)
        return out
    if op == "GetLogEvents":
        name, host = p["logStreamName"].split("/")[0], p["logStreamName"].split("/")[1]
        j = jobs.get(name)
        if not j:
            raise ApiError(400, "ResourceNotFoundException", "The specified log stream does not exist.")
        h = int(re.match(r"algo-(\d+)-", host).group(1))
        evs = j.events(h, now)
        tok = p.get("nextToken", "f/0")
        pos = int(tok.split("/")[1])
        limit = min(p.get("limit", LOG_PAGE), LOG_PAGE)
        page = evs[pos:pos + limit]
        return {"events": page, "nextForwardToken": f"f/{pos + len(page)}",
                "nextBackwardToken": f"b/{pos}"}
    raise ApiError(400, "UnknownOperationException", f"the stand-in does not serve {op}")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("standin: " + (fmt % args) + "\n")

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", "standin")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        with lock:
            if u.path == "/_standin/throttle":
                throttle_left[0] = int(q.get("n", ["1"])[0])
                return self.answer(200, {"throttle": throttle_left[0]})
            if u.path == "/_standin/fail":
                fail_next[:] = [int(q.get("n", ["1"])[0]), int(q.get("status", ["500"])[0]),
                                q.get("code", ["InternalFailure"])[0], q.get("message", [""])[0]]
                return self.answer(200, {"fail": fail_next[0]})
            if u.path == "/_standin/requests":
                body = "".join(json.dumps(c) + "\n" for c in calls).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
        self.answer(404, {"__type": "UnknownOperationException", "message": "GET " + u.path})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        target = self.headers.get("X-Amz-Target", "")
        prefix, _, op = target.partition(".")
        with lock:
            try:
                if prefix not in MODELS:
                    raise ApiError(400, "UnknownOperationException", f"unknown X-Amz-Target {target!r}")
                service, model = MODELS[prefix]
                if op not in model.operation_names:
                    raise ApiError(400, "UnknownOperationException", f"unknown operation {op!r}")
                if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
                    raise ApiError(400, "SerializationException", "Content-Type must be application/x-amz-json-1.1")
                region = check_signature(self.headers, body, self.headers.get("Host", ""), service)
                try:
                    params = json.loads(body or b"{}")
                except ValueError as e:
                    raise ApiError(400, "SerializationException", str(e))
                calls.append({"target": target, "body": params})
                if throttle_left[0] > 0:
                    throttle_left[0] -= 1
                    raise ApiError(400, "ThrottlingException", "Rate exceeded")
                if fail_next[0] > 0:
                    fail_next[0] -= 1
                    raise ApiError(fail_next[1], fail_next[2], fail_next[3])
                validate(model, op, params)
                out = sagemaker_op(op, params, region) if service == "sagemaker" else logs_op(op, params)
                return self.answer(200, out)
            except ApiError as e:
                self.log_message("%s %s: %s", target, e.code, e.message)
                return self.answer(e.status, {"__type": e.code, "message": e.message})


def validate_file(op, path):
    """--validate OP FILE: botocore's verdict on a request file, for tests."""
    with open(path) as f:
        params = json.load(f)
    try:
        validate(MODELS["SageMaker"][1], op, params)
    except ApiError as e:
        print(f"{op}: INVALID: {e.message}")
        return 1
    print(f"{op}: valid")
    return 0


def main():
    if sys.argv[1] == "--validate":
        sys.exit(validate_file(sys.argv[2], sys.argv[3]))
    port, state = int(sys.argv[1]), sys.argv[2]
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    with open(state, "w") as f:
        f.write("ready\n")
    srv.serve_forever()


if __name__ == "__main__":
    main()
