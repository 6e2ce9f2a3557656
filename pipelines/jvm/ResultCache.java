/*
 * The SQL endpoint's result cache (`lakehouse sql-server`), compiled when the endpoint starts by Janino, the
 * Java compiler Spark ships against the guard (`ReadOnlySql.java`), and injected into the clients' sessions
 * as a parser around the guard's, whose one-line errors it words its analysis errors in.
 *
 * A query's answer is kept under its text, the session's database and settings, and the Delta version of
 * every table it reads, as analysis resolved them: a query asked again before any of its tables commits is
 * answered from memory, and a commit changes the key, so the next query reads the new version. Only queries
 * that give the same answer every time are kept: every table a Delta table of at most `tableBytes`, no
 * random or current-time function, the answer at most `maxRows` rows. The cache holds at most `capacity`
 * bytes (estimated from the answer's schema), the least recently used answers leaving first. An analysis
 * error (an unknown table or column) is worded in its first line, as the guard words a syntax error.
 */
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.HashSet;

import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.SubqueryExpression;
import org.apache.spark.sql.catalyst.parser.ParameterContext;
import org.apache.spark.sql.catalyst.parser.ParserInterface;
import org.apache.spark.sql.catalyst.plans.logical.Command;
import org.apache.spark.sql.catalyst.plans.logical.LocalRelation;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.classic.Dataset;
import org.apache.spark.sql.classic.SparkSession;
import org.apache.spark.sql.delta.files.TahoeLogFileIndex;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;

public class ResultCache {
    static long capacity = 64L << 20;
    static final long tableBytes = 256L << 20;
    static final int maxRows = 100000;

    /** Functions whose value changes with the clock or the session, though Spark calls them deterministic. */
    static final Set CHANGING = new HashSet(Arrays.asList(new String[] {
        "CurrentDate", "CurrentTimestamp", "CurrentTime", "Now", "LocalTimestamp", "CurrentTimeZone",
        "CurrentBatchTimestamp", "CurrentUser", "CurrentDatabase", "CurrentCatalog",
    }));

    /** How the endpoint turns an answer into text, which it sets in a session after its first statement. */
    static final String PRESENTATION = "spark.sql.binaryOutputStyle";

    static final Map ANSWERS = new LinkedHashMap(64, 0.75f, true);  // key -> Answer, least recently used first
    static long held = 0;
    static long hits = 0;
    static long misses = 0;
    static long passed = 0;  // queries that could not be kept (a big or changing table, a random function)

    /** Set by the endpoint before its first client: the bytes it may hold. */
    public static synchronized void configure(long capacityBytes) {
        capacity = capacityBytes;
        ANSWERS.clear();
        held = 0;
    }

    /** hits, misses, queries not kept, answers held, bytes held. */
    public static synchronized long[] stats() {
        return new long[] {hits, misses, passed, ANSWERS.size(), held};
    }

    static class Answer {
        final LocalRelation relation;
        final long bytes;

        Answer(LocalRelation relation, long bytes) { this.relation = relation; this.bytes = bytes; }
    }

    static synchronized Answer lookup(String key) {
        Answer answer = (Answer) ANSWERS.get(key);
        if (answer != null) hits++; else misses++;
        return answer;
    }

    static synchronized void keep(String key, Answer answer) {
        if (answer.bytes > capacity / 4) return;
        Answer old = (Answer) ANSWERS.put(key, answer);
        if (old != null) held -= old.bytes;
        held += answer.bytes;
        Iterator eldest = ANSWERS.values().iterator();
        while (held > capacity && eldest.hasNext()) {
            held -= ((Answer) eldest.next()).bytes;
            eldest.remove();
        }
    }

    static synchronized void notKept() { passed++; }

    /** Keys being answered now: a query asked again meanwhile waits for that answer instead of its own. */
    static final ConcurrentHashMap ANSWERING = new ConcurrentHashMap();

    /** The answer kept under ``key``, else the query's, kept; null when it has more than maxRows rows. */
    static Answer answerOf(String key, Dataset query, LogicalPlan analyzed) {
        Object mine = new Object();
        Object lock = ANSWERING.putIfAbsent(key, mine);
        if (lock == null) lock = mine;
        try {
            synchronized (lock) {
                Answer answer = lookup(key);
                if (answer != null) return answer;
                List rows = query.limit(maxRows + 1).collectAsList();
                if (rows.size() > maxRows) return null;
                LocalRelation relation = LocalRelation.fromExternalRows(
                    analyzed.output(), scala.jdk.javaapi.CollectionConverters.asScala(rows).toList());
                answer = new Answer(relation, (long) rows.size() * analyzed.schema().defaultSize());
                keep(key, answer);
                return answer;
            }
        } finally {
            ANSWERING.remove(key, lock);
        }
    }

    /** The tables an analyzed plan reads as "path@version" (sorted), or null when its answer may change
     *  without a commit: a table that is not Delta or is too big, a random or current-time function. */
    static List versions(LogicalPlan analyzed) {
        List found = new ArrayList();
        if (!collect(analyzed, found)) return null;
        Collections.sort(found);
        return found;
    }

    static boolean collect(LogicalPlan plan, List found) {
        if (plan instanceof LogicalRelation) {
            Object relation = ((LogicalRelation) plan).relation();
            if (!(relation instanceof HadoopFsRelation)) return false;
            Object location = ((HadoopFsRelation) relation).location();
            if (!(location instanceof TahoeLogFileIndex)) return false;
            TahoeLogFileIndex index = (TahoeLogFileIndex) location;
            scala.Option size = index.snapshotAtAnalysis().sizeInBytesIfKnown();
            if (size.isEmpty() || ((Long) size.get()).longValue() > tableBytes) return false;
            found.add(index.path().toString() + "@" + index.snapshotAtAnalysis().version());
            return true;
        }
        if (plan.children().isEmpty()) {
            String leaf = plan.getClass().getSimpleName();
            if (!leaf.equals("LocalRelation") && !leaf.equals("OneRowRelation") && !leaf.equals("Range")) return false;
        }
        scala.collection.Iterator expressions = plan.expressions().iterator();
        while (expressions.hasNext()) {
            if (!collect((Expression) expressions.next(), found)) return false;
        }
        scala.collection.Iterator children = plan.children().iterator();
        while (children.hasNext()) {
            if (!collect((LogicalPlan) children.next(), found)) return false;
        }
        return true;
    }

    static boolean collect(Expression expression, List found) {
        if (!expression.deterministic() || CHANGING.contains(expression.getClass().getSimpleName())) return false;
        if (expression instanceof SubqueryExpression
                && !collect((LogicalPlan) ((SubqueryExpression) expression).plan(), found)) {
            return false;
        }
        scala.collection.Iterator children = expression.children().iterator();
        while (children.hasNext()) {
            if (!collect((Expression) children.next(), found)) return false;
        }
        return true;
    }

    /** The parser: SparkSessionExtensions.injectParser((session, parser) => parser answering from the cache). */
    public static class Parser extends scala.runtime.AbstractFunction2 {
        public Object apply(Object session, Object delegate) {
            return new Answering((SparkSession) session, (ParserInterface) delegate);
        }
    }

    /** The guard's parser (one-line errors, delegating the rest), answering queries from the cache. */
    public static class Answering extends ReadOnlySql.OneLineErrors {
        /** Set while a statement is analyzed and run here: the views' texts it parses pass through. */
        static final ThreadLocal INSIDE = new ThreadLocal();

        final SparkSession session;

        Answering(SparkSession session, ParserInterface delegate) {
            super(delegate);
            this.session = session;
        }

        String key(String sql, List versions) {
            TreeMap settings = new TreeMap();
            scala.collection.Iterator confs = session.sessionState().conf().getAllConfs().iterator();
            while (confs.hasNext()) {
                scala.Tuple2 conf = (scala.Tuple2) confs.next();
                if (!PRESENTATION.equals(conf._1())) settings.put(conf._1(), conf._2());
            }
            return sql.trim() + "\u0000" + session.sessionState().catalog().getCurrentDatabase() + "\u0000"
                + settings + "\u0000" + versions;
        }

        public LogicalPlan parsePlan(String sql) {
            return answer(sql, super.parsePlan(sql));
        }

        public LogicalPlan parsePlanWithParameters(String sql, ParameterContext parameters) {
            return answer(sql + "\u0000" + parameters, super.parsePlanWithParameters(sql, parameters));
        }

        /** The parsed plan, or its answer in a LocalRelation when it is a query whose answer is kept. */
        LogicalPlan answer(String sql, LogicalPlan parsed) {
            if (INSIDE.get() != null || parsed instanceof Command
                    || parsed.getClass().getSimpleName().startsWith("InsertInto")) {
                return parsed;
            }
            INSIDE.set(Boolean.TRUE);
            try {
                Dataset query;
                try {
                    query = Dataset.ofRows(session, parsed);  // analyzed and checked by the guard
                } catch (Exception e) {  // Scala declares no exception: catching AnalysisException alone won't compile
                    // its first line names the table or column; the plan follows
                    if (e instanceof org.apache.spark.sql.AnalysisException) throw oneLine(e);
                    if (e instanceof RuntimeException) throw (RuntimeException) e;
                    throw new RuntimeException(e);
                }
                LogicalPlan analyzed = query.queryExecution().analyzed();
                List versions = versions(analyzed);
                if (versions == null) {
                    notKept();
                    return parsed;
                }
                String key = key(sql, versions);
                Answer answer = answerOf(key, query, analyzed);
                if (answer == null) return parsed;
                return new LocalRelation(answer.relation.output(), answer.relation.data(), false, scala.Option.empty());
            } finally {
                INSIDE.remove();
            }
        }
    }
}
