import DFSCore
import Testing

@testable import DFSS3

@Suite struct ObjectNameTests {
    @Test(arguments: ["abc", "my-bucket", "logs.2026", "a1b", String(repeating: "b", count: 63)])
    func validBucketNamesAreTopLevelFolders(name: String) throws {
        #expect(try ObjectName.bucketPath(name) == DFSPath("/\(name)"))
    }

    @Test(arguments: ["ab", String(repeating: "b", count: 64), "My-Bucket", "-abc", "abc-", "a..b", "a.-b", "192.168.1.1", "a_b", "a b", "ä-bucket"])
    func invalidBucketNamesAreRefused(name: String) {
        #expect(throws: ObjectName.Problem.self) { try ObjectName.bucketPath(name) }
    }

    @Test func keysBecomePathsUnderTheirBucket() throws {
        #expect(try ObjectName.objectPath(bucket: "data", key: "a.txt") == DFSPath("/data/a.txt"))
        #expect(try ObjectName.objectPath(bucket: "data", key: "2026/12/01/log 1.gz") == DFSPath("/data/2026/12/01/log 1.gz"))
        #expect(try ObjectName.objectPath(bucket: "data", key: "ünïcødé/ключ") == DFSPath("/data/ünïcødé/ключ"))
        #expect(ObjectName.key(of: try DFSPath("/data/2026/12/x")) == "2026/12/x")
        #expect(ObjectName.key(of: try DFSPath("/data")) == nil)
    }

    @Test(arguments: ["", "/a", "a/", "a//b", "./a", "a/../b", "a/.", String(repeating: "k", count: 1025)])
    func keysThatAreNotPathsAreRefused(key: String) {
        #expect(throws: ObjectName.Problem.self) { try ObjectName.objectPath(bucket: "data", key: key) }
    }
}
