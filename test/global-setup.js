// Tags every process this test run starts (workers inherit the environment), so the teardown can find
// exactly ours.
module.exports = async function () {
  process.env.DTS_TEST_RUN = `${process.pid}-${Date.now()}`;
};
