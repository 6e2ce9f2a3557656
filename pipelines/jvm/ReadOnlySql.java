/*
 * The SQL endpoint's guard (`lakehouse sql-server`), compiled when the endpoint starts by Janino, the Java
 * compiler Spark ships. Injected into the endpoint's sessions only, it
 *   - refuses every plan that would change something (a write, DDL, cache, jar, Delta maintenance) and any
 *     call of a Java method (reflect, java_method): a query, SHOW, DESCRIBE, EXPLAIN, SET and USE pass;
 *   - words a syntax error in one line, without the statement repeated under it.
 * It allows by name what is known to read and refuses the rest, so a command Spark or Delta adds later is
 * refused until it is listed here.
 */
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.SubqueryExpression;
import org.apache.spark.sql.catalyst.parser.ParseException;
import org.apache.spark.sql.catalyst.parser.ParserInterface;
import org.apache.spark.sql.catalyst.plans.logical.Command;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.parser.ParameterContext;

public class ReadOnlySql {
    static final String SERVES = "this endpoint is read-only: it serves SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, SET and USE";

    /** Commands that only read. */
    static final Set READS = new HashSet(Arrays.asList(new String[] {
        "SetCatalogAndNamespace", "SetNamespaceCommand", "SetCommand", "ResetCommand",
        "ShowTables", "ShowTablesCommand", "ShowTableExtended", "ShowTablesExtendedCommand", "ShowViews",
        "ShowViewsCommand", "ShowNamespaces", "ShowNamespacesCommand", "ShowColumns", "ShowColumnsCommand",
        "ShowCreateTable", "ShowCreateTableCommand", "ShowTableProperties", "ShowTablePropertiesCommand",
        "ShowFunctions", "ShowFunctionsCommand", "ShowCatalogs", "ShowCatalogsCommand", "ShowCurrentNamespace",
        "ShowCurrentNamespaceCommand", "ShowPartitions", "ShowPartitionsCommand",
        "DescribeRelation", "DescribeTableCommand", "DescribeColumn", "DescribeColumnCommand",
        "DescribeNamespace", "DescribeDatabaseCommand", "DescribeFunction", "DescribeFunctionCommand",
        "DescribeQueryCommand", "DescribeDeltaDetailCommand", "DescribeDeltaHistory",
        "DescribeDeltaHistoryCommand", "ExplainCommand",
    }));

    /** What a refused plan node is called in SQL, by the start of its class name. */
    static final String[][] STATEMENTS = {
        {"InsertInto", "INSERT"}, {"AppendData", "INSERT"}, {"Overwrite", "INSERT"}, {"WriteIntoDelta", "INSERT"},
        {"Delete", "DELETE"}, {"Update", "UPDATE"}, {"Merge", "MERGE"}, {"Drop", "DROP"}, {"Create", "CREATE"},
        {"Replace", "CREATE OR REPLACE"}, {"Alter", "ALTER"}, {"AddColumns", "ALTER"}, {"RenameTable", "ALTER"},
        {"SetTableProperties", "ALTER"}, {"UnsetTableProperties", "ALTER"}, {"SetNamespaceProperties", "ALTER"},
        {"SetTableLocation", "ALTER"}, {"Truncate", "TRUNCATE"}, {"Vacuum", "VACUUM"}, {"Optimize", "OPTIMIZE"},
        {"Restore", "RESTORE"}, {"Clone", "CLONE"}, {"Convert", "CONVERT"}, {"Cache", "CACHE"},
        {"Uncache", "UNCACHE"}, {"ClearCache", "CLEAR CACHE"}, {"AddJar", "ADD JAR"}, {"AddFile", "ADD FILE"},
        {"AddArchive", "ADD ARCHIVE"}, {"Analyze", "ANALYZE"}, {"Repair", "REPAIR"}, {"Refresh", "REFRESH"},
    };

    /** An error whose text is its message alone: the endpoint shows "Error running query: " and it. No
     *  stack trace and nothing suppressed in it, so a client (beeline) shows no trace under the line. */
    public static class Refused extends RuntimeException {
        public Refused(String message) { super(message, null, false, false); }
        public String toString() { return getMessage(); }
    }

    static String statement(String node) {
        for (int i = 0; i < STATEMENTS.length; i++) {
            if (node.startsWith(STATEMENTS[i][0])) return STATEMENTS[i][1];
        }
        return node;
    }

    /** The first refused node of a plan and its expressions, as a statement name; null when it only reads. */
    static String refusedIn(LogicalPlan plan) {
        String name = plan.getClass().getSimpleName();
        if (name.startsWith("InsertInto") || (plan instanceof Command && !READS.contains(name))) {
            return statement(name);
        }
        scala.collection.Iterator expressions = plan.expressions().iterator();
        while (expressions.hasNext()) {
            String found = refusedIn((Expression) expressions.next());
            if (found != null) return found;
        }
        scala.collection.Iterator children = plan.children().iterator();
        while (children.hasNext()) {
            String found = refusedIn((LogicalPlan) children.next());
            if (found != null) return found;
        }
        return null;
    }

    static String refusedIn(Expression expression) {
        if (expression.getClass().getSimpleName().equals("CallMethodViaReflection")) {
            return "a Java method call (reflect, java_method)";
        }
        if (expression instanceof SubqueryExpression) {
            String found = refusedIn((LogicalPlan) ((SubqueryExpression) expression).plan());
            if (found != null) return found;
        }
        scala.collection.Iterator children = expression.children().iterator();
        while (children.hasNext()) {
            String found = refusedIn((Expression) children.next());
            if (found != null) return found;
        }
        return null;
    }

    /** The first line of a message: Spark's syntax errors repeat the statement with a caret below. */
    static String firstLine(String message) {
        String[] lines = String.valueOf(message).trim().split("\n");
        return lines[0].trim();
    }

    /** The check rule: SparkSessionExtensions.injectCheckRule(session => plan => ()). */
    public static class Rule extends scala.runtime.AbstractFunction1 {
        public Object apply(Object session) { return new Check(); }
    }

    public static class Check extends scala.runtime.AbstractFunction1 {
        public Object apply(Object plan) {
            String refused = refusedIn((LogicalPlan) plan);
            if (refused != null) throw new Refused(refused + " refused: " + SERVES);
            return scala.runtime.BoxedUnit.UNIT;
        }
    }

    /** The parser: SparkSessionExtensions.injectParser((session, parser) => parser in one-line errors). */
    public static class Parser extends scala.runtime.AbstractFunction2 {
        public Object apply(Object session, Object delegate) { return new OneLineErrors((ParserInterface) delegate); }
    }

    public static class OneLineErrors implements ParserInterface {
        final ParserInterface delegate;

        public OneLineErrors(ParserInterface delegate) { this.delegate = delegate; }

        /** An error (a syntax error, an analysis error) in the first line of its message. */
        public static RuntimeException oneLine(Exception error) {
            return new Refused(firstLine(error.getMessage()));
        }

        public LogicalPlan parsePlan(String sql) {
            try { return delegate.parsePlan(sql); } catch (ParseException e) { throw oneLine(e); }
        }

        public LogicalPlan parsePlanWithParameters(String sql, ParameterContext parameters) {
            try { return delegate.parsePlanWithParameters(sql, parameters); } catch (ParseException e) { throw oneLine(e); }
        }

        public LogicalPlan parseQuery(String sql) {
            try { return delegate.parseQuery(sql); } catch (ParseException e) { throw oneLine(e); }
        }

        public Expression parseExpression(String sql) throws ParseException { return delegate.parseExpression(sql); }
        public org.apache.spark.sql.catalyst.TableIdentifier parseTableIdentifier(String sql) throws ParseException { return delegate.parseTableIdentifier(sql); }
        public org.apache.spark.sql.catalyst.FunctionIdentifier parseFunctionIdentifier(String sql) throws ParseException { return delegate.parseFunctionIdentifier(sql); }
        public scala.collection.immutable.Seq parseMultipartIdentifier(String sql) throws ParseException { return delegate.parseMultipartIdentifier(sql); }
        public org.apache.spark.sql.types.StructType parseRoutineParam(String sql) throws ParseException { return delegate.parseRoutineParam(sql); }
        public org.apache.spark.sql.types.StructType parseTableSchema(String sql) throws ParseException { return delegate.parseTableSchema(sql); }
        public org.apache.spark.sql.types.DataType parseDataType(String sql) throws ParseException { return delegate.parseDataType(sql); }
    }
}
