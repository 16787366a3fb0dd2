package tempojob.compat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;

import tech.powerjob.client.PowerJobClient;
import tech.powerjob.common.enums.ExecuteType;
import tech.powerjob.common.enums.ProcessorType;
import tech.powerjob.common.enums.TimeExpressionType;
import tech.powerjob.common.model.PEWorkflowDAG;
import tech.powerjob.common.request.http.SaveJobInfoRequest;
import tech.powerjob.common.request.http.SaveWorkflowNodeRequest;
import tech.powerjob.common.request.http.SaveWorkflowRequest;
import tech.powerjob.common.request.query.InstancePageQuery;
import tech.powerjob.common.request.query.JobInfoQuery;
import tech.powerjob.common.response.InstanceInfoDTO;
import tech.powerjob.common.response.JobInfoDTO;
import tech.powerjob.common.response.PageResult;
import tech.powerjob.common.response.ResultDTO;
import tech.powerjob.common.response.WorkflowInfoDTO;
import tech.powerjob.common.response.WorkflowInstanceInfoDTO;
import tech.powerjob.common.response.WorkflowNodeInfoDTO;

/**
 * Exercises a tempojob server through PowerJob's own 5.1.1 OpenAPI client.
 * Usage: java -jar powerjob-compat.jar host:port appName password
 * Prints "ok|FAIL step: detail" per step, then "N passed, M failed"; exit 0 iff M == 0.
 */
public final class PowerJobCompat {

    // PowerJob status codes (InstanceStatus / SwitchableStatus).
    static final int WAITING_DISPATCH = 1, RUNNING = 3, FAILED = 4, SUCCEED = 5, CANCELED = 9, STOPPED = 10;
    static final Set<Integer> FINISHED = Set.of(FAILED, SUCCEED, CANCELED, STOPPED);
    static final int JOB_ENABLE = 1, JOB_DISABLE = 2, JOB_DELETED = 99;

    // Listings are served from an eventually consistent index; single-id reads are not.
    static final long LIST_TIMEOUT_MS = 10_000, LIST_INTERVAL_MS = 250;
    static final long STATUS_TIMEOUT_MS = 30_000, STATUS_INTERVAL_MS = 200;
    // Largest id a JSON double can carry exactly; the server promises ids stay below it, so it is never taken.
    static final long MISSING_JOB_ID = (1L << 53) - 1;

    private final PowerJobClient client;
    private final String suffix;
    private int passed = 1; // auth already succeeded when the instance exists
    private int failed;

    // State handed from step to step; null means the producing step failed.
    private Long echoJobId, copyJobId, sleepJobId, failJobId;
    private String echoJobName;
    // Workflows: the decision DAG's nodes (first, decision, yes, no), its id, the stopped run.
    private List<Long> wfNodes;
    private Long workflowId, stoppedWfInstanceId;
    // WorkflowInstanceStatus codes (not InstanceStatus).
    static final int WF_WAITING = 1, WF_RUNNING = 2, WF_FAILED = 3, WF_SUCCEED = 4, WF_STOPPED = 10;
    // jobId -> instances this run started, in start order (drives the exact-count checks).
    private final Map<Long, List<Long>> started = new LinkedHashMap<>();

    private PowerJobCompat(PowerJobClient client, String suffix) {
        this.client = client;
        this.suffix = suffix;
    }

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: java -jar powerjob-compat.jar <host:port> <appName> <password>");
            System.exit(2);
        }
        ResendCounter resends = ResendCounter.install();
        String suffix = UUID.randomUUID().toString().replace("-", "").substring(0, 10);

        PowerJobClient client;
        try {
            client = new PowerJobClient(args[0], args[1], args[2]);
        } catch (Throwable t) {
            // Nothing else can work without a token, so stop here.
            System.out.println("FAIL auth: app '" + args[1] + "' at " + args[0] + ": " + describe(t));
            System.out.println("0 passed, 1 failed");
            System.exit(1);
            return;
        }
        System.out.println("ok auth: app '" + args[1] + "' authenticated at " + args[0] + " (run suffix " + suffix + ")");

        PowerJobCompat run = new PowerJobCompat(client, suffix);
        run.runAll(resends);
        try {
            client.close();
        } catch (Exception ignored) {
            // closing only releases OkHttp threads; the verdict is already known
        }
        System.out.println(run.passed + " passed, " + run.failed + " failed");
        System.exit(run.failed == 0 ? 0 : 1);
    }

    private void runAll(ResendCounter resends) {
        step("saveJob", this::saveJob);
        step("fetchJob", this::fetchJob);
        step("saveJob-update", this::updateJob);
        step("fetchAllJob", this::fetchAllJob);
        step("queryJob", this::queryJob);
        step("copyJob", this::copyJob);
        step("exportJob", this::exportJob);
        step("runJob", this::runJob);
        step("runJob-delayed", this::runJobDelayed);
        step("cancelInstance", this::cancelInstance);
        step("stopInstance", this::stopInstance);
        step("retryInstance", this::retryInstance);
        step("queryInstance", this::queryInstance);
        step("disable-enable-delete", this::disableEnableDelete);
        step("no-duplicates", this::noDuplicates);
        // Workflows after the counts above: their JOB nodes are instances of the same jobs.
        step("saveWorkflowNode", this::saveWorkflowNode);
        step("saveWorkflow", this::saveWorkflow);
        step("fetchWorkflow", this::fetchWorkflow);
        step("runWorkflow-delayed", this::runWorkflowDelayed);
        step("stopWorkflowInstance", this::stopWorkflowInstance);
        step("retryWorkflowInstance", this::retryWorkflowInstance);
        step("markWorkflowNodeAsSuccess", this::markWorkflowNodeAsSuccess);
        step("copyWorkflow", this::copyWorkflow);
        step("disable-enable-delete-workflow", this::disableEnableDeleteWorkflow);
        step("error-path", this::errorPath);
        // Last, so it covers every call above: each refresh means the client re-sent a request.
        step("no-resend", () -> {
            check(resends.count() == 0, "client re-authenticated and re-sent %d request(s); "
                    + "responses must carry header 'X-POWERJOB-AUTH-PASSED: true' (exact case)", resends.count());
            return "every response carried X-POWERJOB-AUTH-PASSED: true, nothing was sent twice";
        });
    }

    // ---------------------------------------------------------------- steps

    private String saveJob() {
        echoJobName = "compat-echo-" + suffix;
        echoJobId = create(jobRequest(echoJobName, "demo.echo"));
        return "jobId=" + echoJobId;
    }

    private String fetchJob() {
        JobInfoDTO job = fetch(need(echoJobId, "echo job"));
        eq(echoJobName, job.getJobName(), "jobName");
        eq("demo.echo", job.getProcessorInfo(), "processorInfo");
        eq(1, job.getTimeExpressionType(), "timeExpressionType (API)");
        eq(1, job.getExecuteType(), "executeType (STANDALONE)");
        eq(1, job.getProcessorType(), "processorType (BUILT_IN)");
        eq(JOB_ENABLE, job.getStatus(), "status");
        eq("jp", job.getJobParams(), "jobParams");
        return "jobName, processorInfo, type codes, status 1 and jobParams match";
    }

    private String updateJob() {
        long id = need(echoJobId, "echo job");
        SaveJobInfoRequest req = jobRequest(echoJobName, "demo.echo");
        req.setId(id);
        req.setJobDescription("updated " + suffix);
        eq(id, data(client.saveJob(req), "saveJob(update)"), "id returned by update");
        eq("updated " + suffix, fetch(id).getJobDescription(), "jobDescription after update");
        return "same id " + id + ", new description visible";
    }

    private String fetchAllJob() throws Exception {
        long id = need(echoJobId, "echo job");
        List<JobInfoDTO> all = poll(() -> data(client.fetchAllJob(), "fetchAllJob"),
                jobs -> ids(jobs).contains(id), LIST_TIMEOUT_MS, LIST_INTERVAL_MS);
        check(ids(all).contains(id), "job %d not in fetchAllJob (%d jobs listed)", id, all.size());
        return all.size() + " jobs listed, including " + id;
    }

    private String queryJob() throws Exception {
        long id = need(echoJobId, "echo job");
        List<Long> byName = pollJobIds(new JobInfoQuery().setJobNameEq(echoJobName), List.of(id));
        eq(List.of(id), byName, "queryJob(jobNameEq) ids");
        List<Long> byId = pollJobIds(new JobInfoQuery().setIdEq(id), List.of(id));
        eq(List.of(id), byId, "queryJob(idEq) ids");
        return "jobNameEq and idEq each return exactly [" + id + "]";
    }

    private String copyJob() {
        long id = need(echoJobId, "echo job");
        copyJobId = data(client.copyJob(id), "copyJob");
        check(copyJobId != null && copyJobId != id, "copy id %s must differ from %d", copyJobId, id);
        eq(echoJobName + "_COPY", fetch(copyJobId).getJobName(), "copied jobName");
        return "copy " + copyJobId + " named " + echoJobName + "_COPY";
    }

    private String exportJob() {
        SaveJobInfoRequest exported = data(client.exportJob(need(echoJobId, "echo job")), "exportJob");
        check(exported != null, "exportJob returned no data");
        eq(null, exported.getId(), "exported id");
        eq("demo.echo", exported.getProcessorInfo(), "exported processorInfo");
        eq(TimeExpressionType.API, exported.getTimeExpressionType(), "exported timeExpressionType");
        return "id null, processorInfo demo.echo, timeExpressionType API";
    }

    private String runJob() throws Exception {
        long jobId = need(echoJobId, "echo job");
        long instanceId = run(jobId, "hello", 0);
        waitStatus(instanceId, SUCCEED, STATUS_TIMEOUT_MS);
        InstanceInfoDTO info = instanceInfo(instanceId);
        eq(SUCCEED, info.getStatus(), "status");
        eq("hello", info.getResult(), "result");
        eq(jobId, info.getJobId(), "jobId");
        eq("hello", info.getInstanceParams(), "instanceParams");
        check(info.getActualTriggerTime() != null, "actualTriggerTime is null");
        check(info.getFinishedTime() != null, "finishedTime is null");
        return "instance " + instanceId + " SUCCEED with result 'hello'";
    }

    private String runJobDelayed() throws Exception {
        long jobId = need(echoJobId, "echo job");
        long calledAt = System.currentTimeMillis();
        long instanceId = run(jobId, "later", 3000);
        eq(WAITING_DISPATCH, status(instanceId), "status right after a delayed runJob");
        waitStatus(instanceId, SUCCEED, STATUS_TIMEOUT_MS);
        InstanceInfoDTO info = instanceInfo(instanceId);
        check(info.getExpectedTriggerTime() != null && info.getActualTriggerTime() != null,
                "trigger times missing: expected=%s actual=%s", info.getExpectedTriggerTime(), info.getActualTriggerTime());
        long lateBy = info.getActualTriggerTime() - info.getExpectedTriggerTime();
        long delay = info.getExpectedTriggerTime() - calledAt;
        check(lateBy >= 0, "triggered %d ms before expectedTriggerTime", -lateBy);
        // 100 ms of slack for client/server clock skew; a 3000 ms delay must not shrink further.
        check(delay >= 2900, "expectedTriggerTime only %d ms after the call (want >= 2900)", delay);
        return "instance " + instanceId + " waited, expected at call+" + delay + " ms, fired " + lateBy + " ms after that";
    }

    private String cancelInstance() {
        long instanceId = run(need(echoJobId, "echo job"), "never", 60_000);
        data(client.cancelInstance(instanceId), "cancelInstance");
        eq(CANCELED, status(instanceId), "status after cancelInstance");
        return "instance " + instanceId + " CANCELED";
    }

    private String stopInstance() throws Exception {
        sleepJobId = create(jobRequest("compat-sleep-" + suffix, "demo.sleep"));
        long instanceId = run(sleepJobId, "60000", 0);
        waitStatus(instanceId, RUNNING, STATUS_TIMEOUT_MS);
        data(client.stopInstance(instanceId), "stopInstance");
        waitStatus(instanceId, STOPPED, 15_000);
        return "job " + sleepJobId + ", instance " + instanceId + " RUNNING then STOPPED";
    }

    private String retryInstance() throws Exception {
        failJobId = create(jobRequest("compat-fail-" + suffix, "demo.fail"));
        long instanceId = run(failJobId, null, 0);
        waitStatus(instanceId, FAILED, STATUS_TIMEOUT_MS);
        data(client.retryInstance(instanceId), "retryInstance");
        // Status may still read FAILED from the first attempt, so wait for the attempt counter too.
        InstanceInfoDTO info = poll(() -> instanceInfo(instanceId),
                i -> i.getStatus() == FAILED && i.getRunningTimes() != null && i.getRunningTimes() >= 2,
                STATUS_TIMEOUT_MS, STATUS_INTERVAL_MS);
        eq(FAILED, info.getStatus(), "status after retry");
        check(info.getRunningTimes() != null && info.getRunningTimes() >= 2, "runningTimes %s, want >= 2", info.getRunningTimes());
        check(info.getResult() != null && info.getResult().contains("failing on purpose"),
                "result %s does not carry the processor's failure message", quote(info.getResult()));
        return "instance " + instanceId + " FAILED twice, runningTimes=" + info.getRunningTimes();
    }

    private String queryInstance() throws Exception {
        long jobId = need(echoJobId, "echo job");
        List<Long> expected = startedFor(jobId);
        check(expected.size() == 3, "needs the 3 instances of runJob/runJob-delayed/cancelInstance, have %d", expected.size());

        PageResult<InstanceInfoDTO> asc = pollInstances(jobId, true, expected.size());
        eq((long) expected.size(), asc.getTotalItems(), "totalItems");
        eq(expected, instanceIds(asc), "instance order with asc=true");
        checkSorted(asc.getData(), true);

        PageResult<InstanceInfoDTO> desc = pollInstances(jobId, false, expected.size());
        List<Long> reversed = new ArrayList<>(expected);
        Collections.reverse(reversed);
        eq(reversed, instanceIds(desc), "instance order with asc=false");
        checkSorted(desc.getData(), false);
        return "totalItems=3, gmtCreate ascending and descending orders correct";
    }

    private String disableEnableDelete() {
        long id = need(echoJobId, "echo job");
        data(client.disableJob(id), "disableJob");
        eq(JOB_DISABLE, fetch(id).getStatus(), "status after disableJob");
        data(client.enableJob(id), "enableJob");
        eq(JOB_ENABLE, fetch(id).getStatus(), "status after enableJob");
        long copy = need(copyJobId, "copied job");
        data(client.deleteJob(copy), "deleteJob");
        // PowerJob deletes softly: the job stays readable with status 99 (and still counts below).
        eq(JOB_DELETED, fetch(copy).getStatus(), "status of deleted copy");
        return "job " + id + " 1->2->1, copy " + copy + " deleted (status 99)";
    }

    private String noDuplicates() throws Exception {
        List<Long> createdJobs = new ArrayList<>();
        for (Long id : new Long[]{echoJobId, copyJobId, sleepJobId, failJobId}) {
            if (id != null) {
                createdJobs.add(id);
            }
        }
        List<Long> wantJobs = sorted(createdJobs);
        List<Long> gotJobs = pollJobIds(new JobInfoQuery().setJobNameLike(suffix), wantJobs);
        eq(wantJobs, gotJobs, "jobs named *" + suffix + "*");

        StringBuilder counts = new StringBuilder("jobs=" + gotJobs.size() + "; instances per job:");
        List<String> mismatches = new ArrayList<>();
        for (long jobId : createdJobs) {
            int want = startedFor(jobId).size();
            long got = pollInstances(jobId, true, want).getTotalItems();
            counts.append(' ').append(jobId).append('=').append(got).append('/').append(want);
            if (got != want) {
                mismatches.add("job " + jobId + " has " + got + " instances, started " + want);
            }
        }
        check(mismatches.isEmpty(), "%s (%s)", String.join("; ", mismatches), counts);
        return counts + " (got/started)";
    }

    private String errorPath() {
        // The 5.1.1 client never throws on success=false: it hands back the ResultDTO. A throw here
        // means the server broke the envelope (non-200 status or unparsable body).
        ResultDTO<JobInfoDTO> r = client.fetchJob(MISSING_JOB_ID);
        check(r != null, "empty response body");
        check(!r.isSuccess(), "fetchJob(%d) succeeded for a job that cannot exist", MISSING_JOB_ID);
        check(r.getMessage() != null && !r.getMessage().isBlank(), "failure carries no message");
        return "fetchJob(" + MISSING_JOB_ID + ") -> success=false, message " + quote(r.getMessage());
    }

    private String saveWorkflowNode() {
        long echo = need(echoJobId, "echo job");
        // PowerJob's time type for a job that only runs as a workflow node.
        SaveJobInfoRequest nodeJob = jobRequest("compat-wf-node-" + suffix, "demo.echo");
        nodeJob.setTimeExpressionType(TimeExpressionType.WORKFLOW);
        long wfJob = create(nodeJob);
        eq(TimeExpressionType.WORKFLOW.getV(), fetch(wfJob).getTimeExpressionType(), "timeExpressionType of a WORKFLOW job");
        List<SaveWorkflowNodeRequest> nodes = List.of(
                node(1, echo, "first", null),
                node(2, null, "go?", "context.get(\"go\") === \"yes\""),
                node(1, wfJob, "yes-branch", null),
                node(1, echo, "no-branch", null));
        List<WorkflowNodeInfoDTO> saved = data(client.saveWorkflowNode(nodes), "saveWorkflowNode");
        check(saved != null && saved.size() == 4, "saveWorkflowNode returned %s", saved);
        wfNodes = saved.stream().map(WorkflowNodeInfoDTO::getId).collect(Collectors.toList());
        check(wfNodes.stream().allMatch(Objects::nonNull), "a node came back without an id: %s", wfNodes);
        eq(echo, saved.get(0).getJobId(), "first node's jobId");
        return "node ids " + wfNodes + ", the yes-branch's job " + wfJob + " of time type WORKFLOW";
    }

    private String saveWorkflow() {
        List<Long> n = need(wfNodes, "workflow nodes");
        workflowId = saveDag("compat-wf-" + suffix, n, List.of(
                new PEWorkflowDAG.Edge(n.get(0), n.get(1)),
                new PEWorkflowDAG.Edge(n.get(1), n.get(2), "true"),
                new PEWorkflowDAG.Edge(n.get(1), n.get(3), "false")));
        return "workflowId=" + workflowId;
    }

    private String fetchWorkflow() {
        WorkflowInfoDTO wf = fetchWf(need(workflowId, "workflow"));
        eq("compat-wf-" + suffix, wf.getWfName(), "wfName");
        eq(JOB_ENABLE, wf.getStatus(), "status");
        eq(Boolean.TRUE, wf.getEnable(), "enable");
        eq("API", wf.getTimeExpressionType(), "timeExpressionType");
        check(wf.getPEWorkflowDAG() != null, "the DAG did not come back (JSON key peworkflowDAG)");
        List<Long> ids = wf.getPEWorkflowDAG().getNodes().stream().map(PEWorkflowDAG.Node::getNodeId).collect(Collectors.toList());
        eq(wfNodes, ids, "DAG node ids");
        eq(2, wf.getPEWorkflowDAG().getNodes().get(1).getNodeType(), "decision node's type");
        eq(3, wf.getPEWorkflowDAG().getEdges().size(), "edge count");
        return "name, status, enable, type and the DAG's 4 nodes and 3 edges match";
    }

    private String runWorkflowDelayed() throws Exception {
        long calledAt = System.currentTimeMillis();
        Long wfInstanceId = data(client.runWorkflow(need(workflowId, "workflow"), "{\"go\":\"yes\"}", 2000), "runWorkflow");
        check(wfInstanceId != null && wfInstanceId > 0, "runWorkflow returned %s", wfInstanceId);
        eq(WF_WAITING, wfInstance(wfInstanceId).getStatus(), "status right after a delayed runWorkflow");
        WorkflowInstanceInfoDTO info = waitWfStatus(wfInstanceId, WF_SUCCEED);
        eq(workflowId, info.getWorkflowId(), "workflowId");
        eq("{\"go\":\"yes\"}", info.getWfInitParams(), "wfInitParams");
        check(info.getWfContext() != null && info.getWfContext().contains("\"go\":\"yes\""), "wfContext %s", quote(info.getWfContext()));
        check(info.getDag() != null && info.getDag().contains("\"disableByControlNode\":true"), "the no-branch was not pruned: %s", quote(info.getDag()));
        check(info.getExpectedTriggerTime() - calledAt >= 1900, "expectedTriggerTime only %d ms after the call", info.getExpectedTriggerTime() - calledAt);
        check(info.getActualTriggerTime() >= info.getExpectedTriggerTime(), "started %d ms early", info.getExpectedTriggerTime() - info.getActualTriggerTime());
        return "wf instance " + wfInstanceId + " WAITING, then SUCCEED down the true branch";
    }

    private String stopWorkflowInstance() throws Exception {
        List<WorkflowNodeInfoDTO> nodes = data(client.saveWorkflowNode(List.of(node(1, need(sleepJobId, "sleep job"), "sleeper", "60000"))), "saveWorkflowNode");
        long wf = saveDag("compat-wf-stop-" + suffix, List.of(nodes.get(0).getId()), List.of());
        stoppedWfInstanceId = data(client.runWorkflow(wf), "runWorkflow");
        waitWfStatus(stoppedWfInstanceId, WF_RUNNING);
        data(client.stopWorkflowInstance(stoppedWfInstanceId), "stopWorkflowInstance");
        waitWfStatus(stoppedWfInstanceId, WF_STOPPED);
        return "wf instance " + stoppedWfInstanceId + " RUNNING, then STOPPED";
    }

    private String retryWorkflowInstance() throws Exception {
        long id = need(stoppedWfInstanceId, "stopped workflow instance");
        data(client.retryWorkflowInstance(id), "retryWorkflowInstance");
        waitWfStatus(id, WF_RUNNING);
        data(client.stopWorkflowInstance(id), "stopWorkflowInstance");
        waitWfStatus(id, WF_STOPPED);
        return "wf instance " + id + " ran its stopped node again under the same id, then stopped";
    }

    private String markWorkflowNodeAsSuccess() throws Exception {
        List<WorkflowNodeInfoDTO> nodes = data(client.saveWorkflowNode(List.of(
                node(1, need(failJobId, "fail job"), "broken", null), node(1, need(echoJobId, "echo job"), "after", null))), "saveWorkflowNode");
        long broken = nodes.get(0).getId(), after = nodes.get(1).getId();
        long wf = saveDag("compat-wf-mark-" + suffix, List.of(broken, after), List.of(new PEWorkflowDAG.Edge(broken, after)));
        Long id = data(client.runWorkflow(wf), "runWorkflow");
        waitWfStatus(id, WF_FAILED);
        data(client.markWorkflowNodeAsSuccess(id, broken), "markWorkflowNodeAsSuccess");
        poll(() -> wfInstance(id).getDag(), dag -> dag.contains("mark as successful node"), STATUS_TIMEOUT_MS, STATUS_INTERVAL_MS);
        data(client.retryWorkflowInstance(id), "retryWorkflowInstance");
        waitWfStatus(id, WF_SUCCEED);
        return "wf instance " + id + " FAILED, node " + broken + " marked, retried to SUCCEED";
    }

    private String copyWorkflow() {
        long id = need(workflowId, "workflow");
        Long copy = data(client.copyWorkflow(id), "copyWorkflow");
        check(copy != null && copy != id, "copy id %s must differ from %d", copy, id);
        WorkflowInfoDTO copied = fetchWf(copy);
        eq("compat-wf-" + suffix + "_COPY", copied.getWfName(), "copied wfName");
        eq(4, copied.getPEWorkflowDAG().getNodes().size(), "copied node count");
        return "copy " + copy + " with its own 4 nodes";
    }

    private String disableEnableDeleteWorkflow() {
        long id = need(workflowId, "workflow");
        data(client.disableWorkflow(id), "disableWorkflow");
        eq(JOB_DISABLE, fetchWf(id).getStatus(), "status after disableWorkflow");
        data(client.enableWorkflow(id), "enableWorkflow");
        eq(JOB_ENABLE, fetchWf(id).getStatus(), "status after enableWorkflow");
        data(client.deleteWorkflow(id), "deleteWorkflow");
        eq(JOB_DELETED, fetchWf(id).getStatus(), "status after deleteWorkflow");
        ResultDTO<Long> refused = client.runWorkflow(id);
        check(!refused.isSuccess() && refused.getMessage() != null && refused.getMessage().contains("was deleted"),
                "runWorkflow of a deleted workflow: %s", quote(refused.getMessage()));
        return "workflow " + id + " 1->2->1->99; a deleted workflow refuses to run";
    }

    // ---------------------------------------------------------------- workflow helpers

    private static SaveWorkflowNodeRequest node(int type, Long jobId, String name, String params) {
        SaveWorkflowNodeRequest r = new SaveWorkflowNodeRequest();
        r.setType(type);
        r.setJobId(jobId);
        r.setNodeName(name);
        r.setNodeParams(params);
        r.setEnable(true);
        r.setSkipWhenFailed(false);
        return r;
    }

    private long saveDag(String name, List<Long> nodeIds, List<PEWorkflowDAG.Edge> edges) {
        SaveWorkflowRequest r = new SaveWorkflowRequest();
        r.setWfName(name);
        r.setTimeExpressionType(TimeExpressionType.API);
        r.setMaxWfInstanceNum(1);
        r.setEnable(true);
        r.setDag(new PEWorkflowDAG(nodeIds.stream().map(PEWorkflowDAG.Node::new).collect(Collectors.toList()), edges));
        Long id = data(client.saveWorkflow(r), "saveWorkflow");
        check(id != null && id > 0, "saveWorkflow returned id %s", id);
        return id;
    }

    private WorkflowInfoDTO fetchWf(long id) {
        WorkflowInfoDTO wf = data(client.fetchWorkflow(id), "fetchWorkflow(" + id + ")");
        check(wf != null, "fetchWorkflow(%d) returned no data", id);
        return wf;
    }

    private WorkflowInstanceInfoDTO wfInstance(long id) {
        WorkflowInstanceInfoDTO info = data(client.fetchWorkflowInstanceInfo(id), "fetchWorkflowInstanceInfo(" + id + ")");
        check(info != null, "fetchWorkflowInstanceInfo(%d) returned no data", id);
        return info;
    }

    private WorkflowInstanceInfoDTO waitWfStatus(long id, int want) throws Exception {
        WorkflowInstanceInfoDTO info = poll(() -> wfInstance(id), i -> i.getStatus() == want || (i.getStatus() != WF_WAITING && i.getStatus() != WF_RUNNING),
                STATUS_TIMEOUT_MS, STATUS_INTERVAL_MS);
        check(info.getStatus() == want, "wf instance %d is %d, want %d (result %s)", id, info.getStatus(), want, quote(info.getResult()));
        return info;
    }

    // ---------------------------------------------------------------- client helpers

    private static SaveJobInfoRequest jobRequest(String name, String processor) {
        SaveJobInfoRequest r = new SaveJobInfoRequest();
        r.setJobName(name);
        r.setJobDescription("tempojob compat: " + processor);
        r.setJobParams("jp");
        r.setTimeExpressionType(TimeExpressionType.API);
        r.setExecuteType(ExecuteType.STANDALONE);
        r.setProcessorType(ProcessorType.BUILT_IN);
        r.setProcessorInfo(processor);
        r.setMaxInstanceNum(0);
        r.setInstanceRetryNum(0);
        r.setEnable(true);
        return r;
    }

    private long create(SaveJobInfoRequest req) {
        Long id = data(client.saveJob(req), "saveJob");
        check(id != null && id > 0, "saveJob returned id %s", id);
        return id;
    }

    private JobInfoDTO fetch(long jobId) {
        JobInfoDTO job = data(client.fetchJob(jobId), "fetchJob(" + jobId + ")");
        check(job != null, "fetchJob(%d) returned no data", jobId);
        return job;
    }

    private long run(long jobId, String params, long delayMs) {
        Long instanceId = data(client.runJob(jobId, params, delayMs), "runJob");
        check(instanceId != null && instanceId > 0, "runJob returned instanceId %s", instanceId);
        startedFor(jobId).add(instanceId);
        return instanceId;
    }

    private int status(long instanceId) {
        Integer s = data(client.fetchInstanceStatus(instanceId), "fetchInstanceStatus(" + instanceId + ")");
        check(s != null, "fetchInstanceStatus(%d) returned no data", instanceId);
        return s;
    }

    private InstanceInfoDTO instanceInfo(long instanceId) {
        InstanceInfoDTO info = data(client.fetchInstanceInfo(instanceId), "fetchInstanceInfo(" + instanceId + ")");
        check(info != null, "fetchInstanceInfo(%d) returned no data", instanceId);
        return info;
    }

    /** Polls until {@code want}; gives up early once the instance finished in another state. */
    private void waitStatus(long instanceId, int want, long timeoutMs) throws Exception {
        int last = poll(() -> status(instanceId), s -> s == want || FINISHED.contains(s), timeoutMs, STATUS_INTERVAL_MS);
        if (last != want) {
            String result = instanceInfo(instanceId).getResult();
            throw new Failure(String.format("instance %d is %s, want %s (waited up to %d ms; result %s)",
                    instanceId, statusName(last), statusName(want), timeoutMs, quote(result)));
        }
    }

    private List<Long> pollJobIds(JobInfoQuery query, List<Long> want) throws Exception {
        return poll(() -> sorted(ids(data(client.queryJob(query), "queryJob"))), want::equals, LIST_TIMEOUT_MS, LIST_INTERVAL_MS);
    }

    private PageResult<InstanceInfoDTO> pollInstances(long jobId, boolean asc, int want) throws Exception {
        InstancePageQuery q = new InstancePageQuery();
        q.setJobIdEq(jobId);
        q.setIndex(0);
        q.setPageSize(10);
        q.setSortBy("gmtCreate");
        q.setAsc(asc);
        PageResult<InstanceInfoDTO> page = poll(() -> data(client.queryInstanceInfo(q), "queryInstanceInfo"),
                p -> p != null && p.getTotalItems() == want && instanceIds(p).size() == want, LIST_TIMEOUT_MS, LIST_INTERVAL_MS);
        check(page != null, "queryInstanceInfo returned no page");
        return page;
    }

    private List<Long> startedFor(long jobId) {
        return started.computeIfAbsent(jobId, k -> new ArrayList<>());
    }

    private static void checkSorted(List<InstanceInfoDTO> rows, boolean asc) {
        for (int i = 1; i < rows.size(); i++) {
            Date a = rows.get(i - 1).getGmtCreate(), b = rows.get(i).getGmtCreate();
            check(a != null && b != null, "gmtCreate missing in queryInstance rows");
            check(asc ? !a.after(b) : !a.before(b), "gmtCreate not %s at row %d: %s then %s",
                    asc ? "ascending" : "descending", i, a.getTime(), b.getTime());
        }
    }

    // ---------------------------------------------------------------- tiny test framework

    private interface Body {
        String run() throws Exception;
    }

    /** An assertion failure: reported as a one-line reason, never as a stack trace. */
    static final class Failure extends RuntimeException {
        Failure(String message) {
            super(message, null, false, false);
        }
    }

    private void step(String name, Body body) {
        try {
            String detail = body.run();
            passed++;
            System.out.println("ok " + name + ": " + detail);
        } catch (Throwable t) {
            failed++;
            System.out.println("FAIL " + name + ": " + describe(t));
        }
        System.out.flush();
    }

    static void check(boolean condition, String format, Object... args) {
        if (!condition) {
            throw new Failure(String.format(format, args));
        }
    }

    static void eq(Object expected, Object actual, String what) {
        check(Objects.equals(expected, actual), "%s: expected %s, got %s", what, show(expected), show(actual));
    }

    /** Unwraps a ResultDTO, turning success=false into a failure that quotes the server's message. */
    static <T> T data(ResultDTO<T> r, String call) {
        check(r != null, "%s: empty response body", call);
        check(r.isSuccess(), "%s: success=false, message %s", call, quote(r.getMessage()));
        return r.getData();
    }

    static <T> T need(T value, String what) {
        if (value == null) {
            throw new Failure("skipped: no " + what + " (an earlier step failed)");
        }
        return value;
    }

    /** Calls {@code fetch} until {@code done} holds or the timeout passes; returns the last value either way. */
    static <T> T poll(Callable<T> fetch, Predicate<T> done, long timeoutMs, long intervalMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            T value = fetch.call();
            if (done.test(value) || System.currentTimeMillis() >= deadline) {
                return value;
            }
            Thread.sleep(intervalMs);
        }
    }

    static List<Long> ids(List<JobInfoDTO> jobs) {
        return jobs == null ? List.of() : jobs.stream().map(JobInfoDTO::getId).collect(Collectors.toList());
    }

    static List<Long> instanceIds(PageResult<InstanceInfoDTO> page) {
        return page.getData() == null ? List.of()
                : page.getData().stream().map(InstanceInfoDTO::getInstanceId).collect(Collectors.toList());
    }

    static List<Long> sorted(List<Long> ids) {
        return ids.stream().sorted().collect(Collectors.toList());
    }

    static String statusName(int code) {
        switch (code) {
            case 1: return "WAITING_DISPATCH(1)";
            case 2: return "WAITING_WORKER_RECEIVE(2)";
            case 3: return "RUNNING(3)";
            case 4: return "FAILED(4)";
            case 5: return "SUCCEED(5)";
            case 9: return "CANCELED(9)";
            case 10: return "STOPPED(10)";
            default: return "UNKNOWN(" + code + ")";
        }
    }

    static String show(Object o) {
        return o instanceof String ? quote((String) o) : String.valueOf(o);
    }

    static String quote(String s) {
        return s == null ? "null" : "'" + s + "'";
    }

    /** One line per error, including the root cause, so a dead server does not print a stack-trace wall. */
    static String describe(Throwable t) {
        if (t instanceof Failure) {
            return t.getMessage();
        }
        StringBuilder sb = new StringBuilder(t.getClass().getSimpleName() + ": " + t.getMessage());
        Set<Throwable> seen = new HashSet<>();
        for (Throwable c = t.getCause(); c != null && seen.add(c); c = c.getCause()) {
            sb.append(" <- ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
        }
        return sb.toString();
    }

    /**
     * Counts the client's "auth failed ... try to refresh" warnings. The 5.x client logs one each
     * time a response lacks X-POWERJOB-AUTH-PASSED: true, and then sends the same request again
     * (the 5.1.0 "every call executed twice" bug). Other client warnings go to stderr, one line each.
     */
    static final class ResendCounter extends Handler {
        private final AtomicInteger count = new AtomicInteger();

        static ResendCounter install() {
            ResendCounter counter = new ResendCounter();
            counter.setLevel(Level.WARNING);
            Logger root = Logger.getLogger("");
            for (Handler h : root.getHandlers()) {
                root.removeHandler(h);
            }
            root.addHandler(counter);
            return counter;
        }

        int count() {
            return count.get();
        }

        @Override
        public void publish(LogRecord r) {
            if (!isLoggable(r)) {
                return;
            }
            String msg = String.valueOf(r.getMessage());
            // Only the first resend is shown; the step summary reports the total.
            boolean repeatedResend = msg.contains("auth failed") && count.incrementAndGet() > 1;
            // Logged at WARN on every successful (re-)auth, including the normal first one.
            boolean routine = msg.contains("refresh auth info successfully");
            if (!repeatedResend && !routine) {
                System.err.println("client-log " + r.getLevel() + ": " + msg);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
